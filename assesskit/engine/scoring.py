"""Vectorised scoring rules: raw indicator values -> normalised scores (0-100 scale).

Every function works on arrays whose LAST axis runs over units, so the same code scores one
evaluation (shape ``(n,)`` or ``(n, m)`` transposed as needed) or thousands of design variants at
once (shape ``(draws, n)``). Comparison groups are given by a :class:`GroupIndex`; group
statistics ignore missing values (NaN) and a missing value scores NaN (the scheme's missing-value
policy decides what happens next).

The normalised score of a node is the share of its maximum points earned, times 100: a leaf
scored 85 that carries 10 points earns 8.5 points.
"""

from __future__ import annotations

import numpy as np

from .ranking import Groups, ranks_within


class GroupIndex:
    """Positions of units in comparison groups, for vectorised group statistics.

    Parameters
    ----------
    labels : array-like of str
        Group label per unit (``""`` or one label for all means one pool).

    Attributes
    ----------
    codes : ndarray of int, shape (n,)
        Group number of each unit.
    names : list of str
        Group label of each group number.
    """

    def __init__(self, labels):
        labels = np.asarray(labels, dtype=object)
        names, codes = np.unique(labels.astype(str), return_inverse=True)
        self.names = names.tolist()
        self.codes = codes.astype(np.intp)
        self.n_groups = len(self.names)
        self.onehot = np.zeros((len(codes), self.n_groups))
        self.onehot[np.arange(len(codes)), self.codes] = 1.0
        self.order = np.argsort(self.codes, kind="stable")
        self.counts = np.bincount(self.codes, minlength=self.n_groups)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]])

    @classmethod
    def pool(cls, n: int) -> GroupIndex:
        """One group holding all ``n`` units."""
        return cls([""] * n)

    def _reduce(self, ufunc, x):
        xs = np.take(x, self.order, axis=-1)
        return ufunc.reduceat(xs, self.starts, axis=-1)

    def max(self, x):
        """Group maxima ignoring NaN, broadcast back to units (NaN if a group has no value)."""
        return np.take(self._reduce(np.fmax, x), self.codes, axis=-1)

    def min(self, x):
        """Group minima ignoring NaN, broadcast back to units."""
        return np.take(self._reduce(np.fmin, x), self.codes, axis=-1)

    def count(self, x):
        """Number of non-missing values in each unit's group, broadcast back to units."""
        return np.take(np.isfinite(x).astype(float) @ self.onehot, self.codes, axis=-1)

    def mean(self, x):
        """Group means ignoring NaN, broadcast back to units."""
        ok = np.isfinite(x)
        sums = np.where(ok, x, 0.0) @ self.onehot
        counts = ok.astype(float) @ self.onehot
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts
        return np.take(means, self.codes, axis=-1)

    def std(self, x, ddof: int = 1):
        """Group standard deviations ignoring NaN (``ddof`` 1: sample), broadcast back to units."""
        ok = np.isfinite(x)
        mu = self.mean(x)
        dev2 = np.where(ok, (x - mu) ** 2, 0.0) @ self.onehot
        counts = ok.astype(float) @ self.onehot
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(dev2 / (counts - ddof))
        return np.take(sd, self.codes, axis=-1)

    def percentile_rank(self, x):
        """Percentile rank within group, 0 (worst) to 100 (best); ties share the average rank.

        ``100 * (r - 1) / (k - 1)`` with ``r`` the average rank (1 = lowest value) among the
        ``k`` non-missing values of the group; a group with one value scores 100.
        """
        x = snap(x)
        lead = x.shape[:-1]
        flat = x.reshape(-1, x.shape[-1]) + 0.0  # -0.0 and 0.0 are the same value
        ok = np.isfinite(flat)
        # order-preserving integer keys of the floats; missing values in a bucket of their own
        bits = np.where(ok, flat, 0.0).view(np.int64)
        keys = bits ^ ((bits >> 63) & np.int64(0x7FFFFFFFFFFFFFFF))
        out = np.empty_like(flat)
        # rows sharing one pattern of missing values are ranked together (usually all rows)
        patterns, which = np.unique(ok, axis=0, return_inverse=True)
        for pi, pattern in enumerate(patterns):
            rows = np.flatnonzero(which.reshape(-1) == pi)
            codes = np.where(pattern, self.codes, self.n_groups)
            top = ranks_within(keys[rows], Groups(codes, tuple(range(self.n_groups + 1))),
                               "average")
            k = np.bincount(codes, minlength=self.n_groups + 1)[codes].astype(float)
            bottom = k + 1 - top  # 1 = lowest value
            with np.errstate(invalid="ignore", divide="ignore"):
                out[rows] = np.where(k > 1, 100.0 * (bottom - 1) / (k - 1), 100.0)
        return np.where(ok, out, np.nan).reshape(lead + (x.shape[-1],))


def orient(x, direction: str):
    """Return values oriented so that higher is better (negated when ``direction`` is lower)."""
    return -x if direction == "lower" else x


SIGNIFICANT_DIGITS = 12
"""Values are compared by the relative rules at this many significant digits: 0.1 + 0.2 and 0.3
are the same value (floating-point noise), not a spread of 0.00000000000000006."""


def snap(x):
    """Values rounded to :data:`SIGNIFICANT_DIGITS` significant digits (NaN and ±inf kept).

    Examples
    --------
    >>> bool(snap(np.array([0.1 + 0.2]))[0] == snap(np.array([0.3]))[0])
    True
    """
    x = np.asarray(x, dtype=float)
    finite = np.isfinite(x) & (x != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = np.where(finite, SIGNIFICANT_DIGITS - 1 - np.floor(np.log10(np.abs(x))), 0)
    scale = 10.0 ** np.clip(digits, -300, 300)
    return np.where(finite, np.round(x * scale) / scale, x)


def minmax(x, groups: GroupIndex, lo: float = 0.0, hi: float = 100.0):
    """Min–max scaling within groups onto ``[lo, hi]``.

    ``score = lo + (hi - lo) * (x - min_g) / (max_g - min_g)``; values already oriented so that
    higher is better, compared at :data:`SIGNIFICANT_DIGITS` significant digits. A group whose
    values are all equal scores ``hi`` (nobody is behind; the engine says so in a notice).
    """
    x = snap(x)
    mn, mx = groups.min(x), groups.max(x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        span = mx - mn  # may overflow for values near ±1e308: the engine reports it
        share = np.where(span > 0, (x - mn) / span, 1.0)
    return np.where(np.isfinite(x), lo + (hi - lo) * share, np.nan)


def zscore(x, groups: GroupIndex, offset: float = 0.0, scale: float = 1.0,
           floor: float | None = None):
    """Standard score within groups, ``offset + scale * (x - mean_g) / sd_g`` (sample sd).

    A group with zero spread scores ``offset``. With ``floor`` the score is at least ``floor``:
    a documented positive rescaling, so that a geometric mean can take every score (a unit far
    below its group would otherwise score 0 or less).
    """
    x = snap(x)
    with np.errstate(over="ignore", invalid="ignore"):
        mu, sd = groups.mean(x), groups.std(x)
    spread = sd > 1e-12 * np.maximum(1.0, np.abs(mu))  # equal at 12 digits: no spread
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z = np.where(spread, (x - mu) / sd, 0.0)
    s = offset + scale * z
    if floor is not None:
        s = np.maximum(s, floor)
    return np.where(np.isfinite(x), s, np.nan)


def goalposts(x, lower, upper, log: bool = False):
    """Distance between fixed goalposts, clipped: ``100 * (x - lower) / (upper - lower)``.

    With ``log=True`` the natural logarithm of ``x`` and of the goalposts is used (UNDP's
    income index). Values are oriented already: for a lower-is-better indicator pass the
    negated value with the goalposts negated AND swapped (``goalposts(-x, -upper, -lower)``, i.e.
    ``100 * (upper - x) / (upper - lower)``), which the engine's ``Scorer`` does.
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if log:
        with np.errstate(invalid="ignore", divide="ignore"):
            x, lower, upper = np.log(x), np.log(lower), np.log(upper)
    share = np.clip((x - lower) / (upper - lower), 0.0, 1.0)
    return 100.0 * share


def attainment(x, target, direction: str = "higher", cap: float = 1.0):
    """Attainment ratio against a target, capped: ``100 * min(x / target, cap)``.

    For a lower-is-better indicator the ratio is ``target / x`` (reaching the target or going
    below it earns full points). A zero value of a lower-is-better indicator is full attainment.
    """
    target = np.asarray(target, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if direction == "lower":
            ratio = np.where(x > 0, target / x, np.inf)
        else:
            ratio = x / target
    return np.where(np.isfinite(x), 100.0 * np.minimum(ratio, cap), np.nan)


def threshold(x, full_at: float, per_unit: float, direction: str = "higher", floor: float = 0.0):
    """Full score at or beyond a threshold, ``per_unit`` points (of 100) off per unit short of it.

    E.g. full points at >= 95 %, 10 points off per percentage point below:
    ``score = max(floor, 100 - per_unit * max(0, full_at - x))``.
    """
    short = np.maximum(0.0, (x - full_at) if direction == "lower" else (full_at - x))
    return np.where(np.isfinite(x), np.maximum(floor, 100.0 - per_unit * short), np.nan)


def bands(x, cuts, scores, direction: str = "higher"):
    """Banded points: the score of the first band whose threshold the value reaches.

    ``cuts`` are thresholds in decreasing order (for higher-is-better; increasing for
    lower-is-better) and ``scores`` has one more entry than ``cuts``: the score below the last cut.
    """
    cuts = np.asarray(cuts, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if direction == "lower":
        idx = np.searchsorted(cuts, x, side="left")  # number of cuts below x (exceeded)
    else:
        idx = np.searchsorted(-cuts, -x, side="left")  # number of cuts above x (not reached)
    idx = np.where(np.isfinite(x), idx, 0)
    return np.where(np.isfinite(x), scores[idx], np.nan)


def passfail(x, threshold_value: float, direction: str = "higher"):
    """100 if the value passes (``>=`` threshold, or ``<=`` for lower-is-better), else 0."""
    ok = x <= threshold_value if direction == "lower" else x >= threshold_value
    return np.where(np.isfinite(x), np.where(ok, 100.0, 0.0), np.nan)


def change(current, previous, kind: str = "growth"):
    """Change between two periods: ``growth`` (x_t / x_{t-1} - 1, in %) or ``difference``."""
    if kind == "growth":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(previous > 0, 100.0 * (current / previous - 1.0), np.nan)
    if kind == "difference":
        return current - previous
    raise ValueError(f"change kind must be 'growth' or 'difference', not {kind!r}")


def aggregate(scores, weights, method: str):
    """Aggregate child scores with weights along the last axis, skipping NaN children.

    Parameters
    ----------
    scores : ndarray, shape (..., k)
        Child scores (NaN where a child is missing or not applicable).
    weights : ndarray, shape (..., k) or (k,)
        Non-negative weights; the weights of non-missing children are re-normalised to sum to 1.
    method : {"arithmetic", "geometric", "harmonic", "minimum"}
        Weighted arithmetic mean, weighted geometric mean, weighted harmonic mean, or the minimum
        (the weakest child sets the score; weights only decide which children count).

    Returns
    -------
    ndarray, shape (...)
        NaN where no child has a score or all weights are zero.
    """
    ok = np.isfinite(scores) & (weights > 0)
    w = np.where(ok, weights, 0.0)
    wsum = w.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = w / wsum[..., None]
        if method == "arithmetic":
            out = (np.where(ok, scores, 0.0) * w).sum(-1)
        elif method == "geometric":
            out = np.exp((np.where(ok, np.log(np.where(ok, scores, 1.0)), 0.0) * w).sum(-1))
        elif method == "harmonic":
            out = 1.0 / (np.where(ok, w / np.where(ok, scores, 1.0), 0.0)).sum(-1)
        elif method == "minimum":
            out = np.where(ok, scores, np.inf).min(-1)
        else:
            raise ValueError(f"unknown aggregation {method!r}")
    return np.where(wsum > 0, out, np.nan)


def attribute(parent_points, child_scores, weights, method: str):
    """Split a node's points among its children so that they add up exactly.

    Arithmetic aggregation splits in proportion to ``w_i * s_i`` (which is exact). For the other
    aggregations no additive decomposition exists; the points are split in the same proportion
    ``w_i * s_i / sum(w * s)`` — documented as the attribution rule, so that contributions always
    add up to the score.
    """
    ok = np.isfinite(child_scores) & (weights > 0)
    ws = np.where(ok, weights * np.where(ok, child_scores, 0.0), 0.0)
    total = ws.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, ws / total, np.where(ok, 1.0 / ok.sum(-1, keepdims=True), 0.0))
    return parent_points[..., None] * share
