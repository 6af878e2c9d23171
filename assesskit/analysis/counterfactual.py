"""What would it take? Counterfactuals for each assessed unit (要达到某一结果需要做什么).

For every assessed unit and every outcome it could gain or lose — enter a top quota (the praise
list, 通报表扬), leave a bottom quota (the summons list, 约谈), reach or keep a grade (等次), or
a rank within its group — :func:`counterfactuals` finds

* the **smallest change of each single indicator**, in the indicator's own units ("GDP per
  capita +1,241 yuan"), that changes the outcome, every other unit's values held fixed;
* the **cheapest combined change** of several indicators by an effort metric, within bounds a
  user can set.

Everything is decided by the engine
-----------------------------------
A candidate change is never judged by a linearisation: every trial value goes through
:class:`assesskit.engine.batch.ValueBatch`, which scores the level again with the scheme's own
rules and comparison groups (a county passing its group's maximum moves the min–max scale of
every county of the group; a z-score moves the group's mean and standard deviation; a
percentile re-ranks), aggregates, applies deductions, coefficients and vetoes, combines the
sub-periods of a quarterly scheme, and ranks with the scheme's quotas, grades and tie rule
(scores compared at ``ties.decimals``, ``ties.break_by``, ``ties.at_quota``). The analysis
itself implements no scoring, ranking, quota or grade rule.

The search
----------
Changes are measured in *spreads*: ``effort = |change| / spread``, where the spread of an
indicator is the range (max − min; or the sample standard deviation, ``spread="std"``) of its
values over the level's assessed units in the period (over the sub-periods changed, pooled).
For each problem (unit, outcome, direction, indicator) the engine is evaluated at 1% of the
spread, then at 4, 16 ... times as much (or 1/8, 1/64 ... as much) until the outcome changes
at ``t_hi`` and not at ``t_lo``; then the bracket is halved until ``t_hi − t_lo ≤ rtol · t_hi``
(default ``rtol = 1e-4``). The change reported is ``t_hi`` — a value at which the engine gives
the new outcome — so applying it changes the outcome, and a change smaller by more than
``rtol`` does not. All problems advance together: each step is one batch of draws.

*Exactness.* Along one indicator the outcome is monotone in the unit's own value under min–max
(its own score rises and every other unit's score on that indicator can only fall), percentile
and every absolute rule (goalposts, target, threshold, bands, pass/fail, ratings), so the first
change found is the smallest, exact to ``rtol``. Under a **z-score** a unit moving further above
its group's mean also raises the group's standard deviation, and its lead over a low outlier
can shrink: the outcome can change and change back. The search then finds the first change on
its grid (×4 steps, then bisection); a window narrower than one grid step can be missed. The
summary says when a z-score rule is involved.

*Ties.* At the change found, the unit's ranking keys (total, then tie-break nodes, at the
scheme's decimals) are compared with those of the other units of its quota group: the table
says whether it **takes** the place or **shares** it (and with whom); under ``ties.method:
first`` a tie is ordered by unit id. It also lists the units **displaced** (those whose outcome
changes as a result).

*Infeasible is an answer.* When no change within the bounds (and within ``search_spreads``
spreads) changes the outcome — a veto (一票否决) decides, the indicator is already at 100%, the
scale cannot move far enough — the status says so.

Combined change
---------------
The effort of a combined change is ``Σ_l |δ_l| / spread_l`` (``metric="l1"``) or
``sqrt(Σ_l (δ_l / spread_l)²)`` (``metric="l2"``). For each unit and direction the analysis
measures, on the engine, how far each indicator can move before the unit's own score on it
stops changing (its *cap*: e.g. reaching the group's best value under min–max; the bound for a
rule that never saturates) and the points it gains per spread up to the cap (``ρ_l``). It then
walks the path that is optimal when points are linear up to the caps and the other units do
not move — L1: fill the indicators in order of ``ρ_l`` up to their caps (a fractional
knapsack); L2: ``e_l = min(cap_l, λ ρ_l)`` (water-filling) — then moves every indicator beyond
its cap up to its bound. The smallest point of the path at which the engine gives the new
outcome is found as above, and the answer is the cheaper of that point and the best
single-indicator change. It is exact along the path (applying it changes the outcome; 1% less
of it does not); when passing a group's best value moves the scale, a cheaper combination can
exist off the path.

Bounds (``bounds="auto"``)
--------------------------
A raw value is kept within bounds; by default (each decision listed in ``Counterfactuals.bounds``
and the summary):

* a rating scored by the ``value`` rule: the rule's scale (default 0–100);
* an indicator whose name says it is a growth rate or a change (增长, 增速, 增幅, 变化,
  "growth", "change"): none;
* unit of measure exactly ``%`` with every value in the dataset within [0, 100]: [0, 100];
* every value in the dataset ≥ 0 (amounts, counts, % of a target): [0, ∞);
* otherwise none.

``bounds={"urbanization_rate": (0, 80)}`` sets (or with ``None`` removes) a bound,
``fixed=["sanitary_toilet_rate"]`` keeps an indicator where it is ("cannot move in a year"),
``max_change={"gdp_per_capita": 2000}`` limits the change in raw units.

Quarterly and monthly schemes
-----------------------------
For the annual result of a quarterly (monthly) scheme the change is **added to the unit's value
in every sub-period** (``change_in=None``): "+1.2 points of GDP growth" means 1.2 points more
in each quarter's year-to-date figure, and the annual result combines the four quarterly results
with the scheme's ``combine`` weights, as ``evaluate`` does. ``change_in=["2025Q4"]`` changes
only the sub-periods named. ``value`` is then the mean of the sub-periods changed.

Examples
--------
>>> import assesskit as ak
>>> from assesskit.analysis.counterfactual import counterfactuals
>>> cf = counterfactuals("sichuan-39", ak.datasets.load("sichuan-39"), 2025,
...                      units=["营山县"])                                 # doctest: +SKIP
>>> cf.single                                                            # doctest: +SKIP
>>> print(cf.summary())                                                  # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset, normalise_period
from ..engine.batch import ValueBatch, ValueResult
from ..errors import DataError, Notice, Problem, SchemeError
from ..escape import md_text
from ..scheme.model import Scheme, load_scheme

__all__ = ["ChangeSpace", "Counterfactuals", "Target", "apply_change", "compile_level",
           "counterfactuals", "round_away",
           "default_level", "first_flip", "format_change", "level_targets", "run_batched",
           "unit_what_it_takes"]

SEARCH_SPREADS = 10.0
"""Default search range: a change of at most this many spreads in either direction."""

RTOL = 1e-4
"""Default relative precision of a threshold found by bisection."""

ATOL = 1e-9
"""Changes below this many spreads are treated as no change (absolute precision)."""

START = 0.01
"""First trial change, in spreads (1% of the indicator's spread)."""

CHUNK_CELLS = 400_000
"""Draws × units evaluated per call of the engine (bounds memory)."""

METRICS = ("l1", "l2")
SPREADS = ("range", "std")
_GROWTH_WORDS = re.compile(r"增长|增速|增幅|变化|growth|change", re.IGNORECASE)


# ============================================================================ outcomes
@dataclass(frozen=True)
class Target:
    """An outcome a unit can gain or lose: a consequence, a grade or a rank.

    Attributes
    ----------
    key : str
        The consequence key (``"praised"``), ``"grade:<label>"`` (that grade or better) or
        ``"rank<=k"`` (rank ``k`` or better within the unit's group).
    label : str
        For people, from the scheme (``通报表扬``, ``等次良好及以上``, ``组内前3名``).
    kind : str
        ``quota``, ``grade`` (a consequence given by grades, or a grade target) or ``rank``.
    sense : int
        ``+1`` when a higher total helps to hold it (a top quota, a good grade), ``-1`` when a
        lower total does (a bottom quota, a poor grade), ``0`` when neither (a middle grade):
        then both directions are searched.
    bit, grade, rank : int or None
        The consequence bit, the grade number (0 = best; holds at that grade or better) or the
        rank.
    quota_rows : ndarray or None
        For a quota: the quota row of each unit (-1: none), to name the units sharing a place.
    """

    key: str
    label: str
    kind: str
    sense: int
    bit: int | None = None
    grade: int | None = None
    rank: int | None = None
    quota_rows: np.ndarray | None = field(default=None, compare=False, repr=False)

    def holds(self, result: ValueResult, rows=None, cols=None) -> np.ndarray:
        """Whether each unit holds the outcome in each draw (or at the cells ``rows, cols``)."""
        def cell(a):
            return a if rows is None else a[rows, cols]
        if self.bit is not None:
            return (cell(result.outcome).astype(np.int64) >> self.bit) & 1 == 1
        if self.grade is not None:
            g = cell(result.grade)
            return (g >= 0) & (g <= self.grade)
        r = cell(result.group_rank)
        return np.nan_to_num(r, nan=np.inf) <= self.rank


def _mask_sense(mask: np.ndarray) -> int:
    """+1 if the grades in ``mask`` (best first) are the best ones, -1 the worst, 0 else."""
    k = int(mask.sum())
    if k == 0 or k == len(mask):
        return 0
    if mask[:k].all():
        return 1
    if mask[-k:].all():
        return -1
    return 0


def level_targets(decisions, *, grades: bool = True, ranks: Iterable[int] = ()) -> list[Target]:
    """The outcomes of a level a unit can gain or lose.

    Parameters
    ----------
    decisions : assesskit.engine.consequences.LevelDecisions
        The level's compiled rules (``ValueBatch.decisions``).
    grades : bool
        Add one target per grade but the last: "that grade or better".
    ranks : iterable of int
        Add "rank k or better within the group" for each k.

    Returns
    -------
    list of Target
        Consequences in the scheme's order, then grades, then ranks.
    """
    out = []
    for c, (key, label) in enumerate(zip(decisions.keys, decisions.labels, strict=True)):
        senses, rows = set(), None
        for side in decisions.sides:
            if side.consequence == c:
                senses.add(1 if side.side == "top" else -1)
                rows = side.rows if rows is None else np.where(rows >= 0, rows, side.rows)
        kind = "quota" if senses else "grade"
        if c in decisions.grade_consequences:
            senses.add(_mask_sense(np.asarray(decisions.grade_consequences[c])))
        sense = senses.pop() if len(senses) == 1 else 0
        out.append(Target(key, label, kind, sense, bit=c, quota_rows=rows))
    rule = decisions.grade_rule
    if grades and rule is not None:
        for g, name in enumerate(rule.labels[:-1]):
            out.append(Target(f"grade:{name}", f"等次{name}及以上", "grade", 1, grade=g))
    for k in ranks:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise DataError(f"ranks must be whole numbers >= 1 (rank k or better within the "
                            f"group), not {k!r}")
        where = "组内" if decisions.has_groups else ""
        out.append(Target(f"rank<={int(k)}", f"{where}前{int(k)}名", "rank", 1, rank=int(k)))
    return out


def default_level(scheme: Scheme) -> str:
    """The first level (in the scheme's order) with a consequence or grades, else the first."""
    names = list(scheme.spec["levels"])
    for name in names:
        spec = scheme.levels[name]
        if spec.grades or any(k != "veto" for k in spec.consequences):
            return name
    return names[0]


# ============================================================================ what can change
class ChangeSpace:
    """The indicators of a level an analysis changes, with their units, spreads and bounds.

    Parameters
    ----------
    batch : ValueBatch
        The level compiled for changed values.
    data : Dataset
    indicators : iterable of str, optional
        Node ids or indicator codes of the leaves to change (default every leaf).
    spread : {"range", "std"}
        How an indicator's spread is measured over the level's units (see the module notes).
    bounds : "auto", None or mapping
        ``"auto"`` (the default policy in the module notes), ``None`` (no bound at all), or a
        mapping node id / indicator code -> ``(low, high)`` (``None`` for an open side) that
        overrides the automatic bounds of the indicators it names.
    fixed : iterable of str
        Indicators that cannot move.
    max_change : mapping, optional
        Indicator -> largest change allowed, in raw units.
    change_in : iterable of str, optional
        The sub-periods whose values change (default all of the period's sub-periods).

    Attributes
    ----------
    cols : list of int
        Column of each indicator in the batch's leaves.
    table : DataFrame
        One row per indicator: node, indicator, name, name_en, unit_of_measure, direction,
        spread, low, high, bound_source, fixed, max_change.
    notices : list of Notice
    """

    def __init__(self, batch: ValueBatch, data: Dataset, *, indicators=None, spread="range",
                 bounds="auto", fixed=(), max_change=None, change_in=None):
        if spread not in SPREADS:
            raise DataError(f"spread must be one of {list(SPREADS)}, not {spread!r}")
        self.batch = batch
        self.notices: list[Notice] = []
        nodes = batch.nodes
        by_name = {}
        for li, nd in enumerate(nodes):
            by_name.setdefault(nd.id, li)
            by_name.setdefault(nd.indicator, li)
        if indicators is None:
            cols = list(range(len(nodes)))
        else:
            indicators = [indicators] if isinstance(indicators, str) else list(indicators)
            unknown = [x for x in indicators if x not in by_name]
            if unknown:
                raise DataError(f"unknown indicator(s) {unknown} for level {batch.level!r}; its "
                                f"indicators are {[nd.id for nd in nodes]}")
            cols = list(dict.fromkeys(by_name[x] for x in indicators))
        if not cols:
            raise DataError(f"level {batch.level!r} has no indicator scored from the data")
        self.cols = cols
        self.nodes = [nodes[li] for li in cols]
        self.L = len(cols)
        subs = batch.sub_periods
        if change_in is None:
            self.sub_mask = np.ones(len(subs), bool)
        else:
            wanted = [normalise_period(p) for p in ([change_in] if isinstance(change_in, str | int)
                                                    else change_in)]
            bad = [p for p in wanted if p not in subs]
            if bad or not wanted:
                raise DataError(f"change_in names period(s) {bad or wanted} that are not "
                                f"sub-periods of {batch.period} (sub-periods: {subs})")
            self.sub_mask = np.isin(subs, wanted)
        self.changed_periods = [p for p, m in zip(subs, self.sub_mask, strict=True) if m]
        vals = batch.values[:, :, cols][self.sub_mask]  # (S', n, L)
        with np.errstate(invalid="ignore"):
            self.value = vals.mean(axis=0)  # (n, L): mean over the sub-periods changed
        self.high_now = vals.max(axis=0)
        self.low_now = vals.min(axis=0)
        self.applies = batch.applies[:, cols]
        self.sign = np.array([1.0 if batch.directions[li] == "higher" else -1.0 for li in cols])
        info = data.indicators.set_index("indicator")
        self.codes = [nd.indicator for nd in self.nodes]
        self.ids = [nd.id for nd in self.nodes]

        def text(code, column):
            v = info[column].get(code, "") if column in info.columns else ""
            return "" if pd.isna(v) else str(v)

        self.names = [text(c, "name") or (nd.label or nd.id) for c, nd in
                      zip(self.codes, self.nodes, strict=True)]
        self.names_en = [text(c, "name_en") for c in self.codes]
        self.uom = [text(c, "unit_of_measure") for c in self.codes]
        pooled = vals.transpose(2, 0, 1).reshape(self.L, -1)
        self.spread = np.array([_spread(row, spread) for row in pooled])
        self.scale = self.spread.copy()
        for li in np.flatnonzero(~(self.spread > 0)):
            finite = pooled[li][np.isfinite(pooled[li])]
            self.scale[li] = max(float(np.median(np.abs(finite))) if len(finite) else 1.0, 1.0)
            self.notices.append(Notice(
                "no_spread", f"{self.ids[li]}: fewer than two different values among the units "
                "it applies to, so its spread is 0; "
                f"changes are measured against {self.scale[li]:g} ({self.uom[li] or 'raw units'}) "
                "instead", f"level {batch.level}"))
        self.spread_kind = spread
        self._bounds(data, bounds)
        fixed = [fixed] if isinstance(fixed, str) else list(fixed or [])
        unknown = [x for x in fixed if x not in by_name]
        if unknown:
            raise DataError(f"fixed names unknown indicator(s) {unknown}; the level's "
                            f"indicators are {[nd.id for nd in nodes]}")
        fixed_cols = {by_name[x] for x in fixed}
        self.fixed = np.array([li in fixed_cols for li in cols])
        self.max_change = np.full(self.L, np.inf)
        for key, amount in dict(max_change or {}).items():
            if key not in by_name:
                raise DataError(f"max_change names unknown indicator {key!r}; the level's "
                                f"indicators are {[nd.id for nd in nodes]}")
            if not _is_number(amount) or amount < 0:
                raise DataError(f"max_change[{key!r}] must be a number >= 0 (raw units), not "
                                f"{amount!r}")
            if by_name[key] in cols:
                self.max_change[cols.index(by_name[key])] = float(amount)
        self.table = pd.DataFrame({
            "node": self.ids, "indicator": self.codes, "name": self.names,
            "name_en": self.names_en, "unit_of_measure": self.uom,
            "direction": [batch.directions[li] for li in cols], "spread": self.spread,
            "low": self.low, "high": self.high, "bound_source": self.bound_source,
            "fixed": self.fixed, "max_change": self.max_change})

    def _bounds(self, data: Dataset, bounds) -> None:
        L = self.L
        self.low, self.high = np.full(L, -np.inf), np.full(L, np.inf)
        self.bound_source = ["none"] * L
        if bounds == "auto" or isinstance(bounds, Mapping):
            values = data.values
            for li, (nd, code) in enumerate(zip(self.nodes, self.codes, strict=True)):
                rule = nd.scoring or {}
                every = values.loc[values["indicator"] == code, "value"].to_numpy(dtype=float)
                every = every[np.isfinite(every)]
                words = f"{self.names[li]} {self.names_en[li]}"
                if rule.get("method") == "value":
                    self.low[li], self.high[li] = rule.get("min", 0.0), rule.get("max", 100.0)
                    self.bound_source[li] = "rating scale of the scoring rule"
                elif _GROWTH_WORDS.search(words):
                    self.bound_source[li] = "none (a growth rate or change)"
                elif self.uom[li].strip() in ("%", "％") and len(every) and \
                        every.min() >= 0 and every.max() <= 100:
                    self.low[li], self.high[li] = 0.0, 100.0
                    self.bound_source[li] = "a share in % (0–100)"
                elif len(every) and every.min() >= 0:
                    self.low[li] = 0.0
                    self.bound_source[li] = "not negative in the data (≥ 0)"
        elif bounds is not None:
            raise DataError(f"bounds must be 'auto', None or a mapping indicator -> (low, high), "
                            f"not {bounds!r}")
        if isinstance(bounds, Mapping):
            index = {}
            for li, nd in enumerate(self.nodes):
                index.setdefault(nd.id, li)
                index.setdefault(nd.indicator, li)
            all_ids = {x for nd in self.batch.nodes for x in (nd.id, nd.indicator)}
            for key, pair in bounds.items():
                if key not in all_ids:
                    raise DataError(f"bounds names unknown indicator {key!r}; the level's "
                                    f"indicators are {[nd.id for nd in self.batch.nodes]}")
                if pair is None:
                    pair = (None, None)
                if not isinstance(pair, list | tuple) or len(pair) != 2 or not all(
                        p is None or _is_number(p) for p in pair):
                    raise DataError(f"bounds[{key!r}] must be (low, high) with numbers or None, "
                                    f"not {pair!r}")
                low = -np.inf if pair[0] is None else float(pair[0])
                high = np.inf if pair[1] is None else float(pair[1])
                if low > high:
                    raise DataError(f"bounds[{key!r}] = {tuple(pair)}: the lower bound {low:g} "
                                    f"is above the upper bound {high:g}; give (low, high) with "
                                    "low <= high")
                if key in index:
                    li = index[key]
                    self.low[li], self.high[li] = low, high
                    self.bound_source[li] = "given"

    def usable(self, units: np.ndarray) -> np.ndarray:
        """(m, L) whether each indicator applies to the unit and has a value."""
        return self.applies[units] & np.isfinite(self.value[units])

    def room(self, units: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Largest change (m, L), in spreads, within the bounds, ``max_change`` and ``fixed``
        (``direction`` +1 improves — towards better values — and -1 worsens, per row); the
        change is made in every sub-period changed, so the sub-period nearest the bound counts.
        """
        raw_up = (self.sign[None, :] * direction[:, None]) > 0
        to_bound = np.where(raw_up, self.high[None, :] - self.high_now[units],
                            self.low_now[units] - self.low[None, :])
        to_bound = np.minimum(to_bound, self.max_change[None, :]) / self.scale[None, :]
        return np.where(self.fixed[None, :], 0.0, to_bound)

    def delta(self, units: np.ndarray, direction: np.ndarray, effort: np.ndarray) -> np.ndarray:
        """Raw changes (m, S, L_batch) for the batch: ``effort`` (m, L) spreads in ``direction``,
        made in every sub-period changed."""
        m = len(units)
        raw = effort * (self.sign[None, :] * direction[:, None]) * self.scale[None, :]
        out = np.zeros((m, len(self.sub_mask), len(self.batch.leaves)))
        out[:, :, self.cols] = np.where(self.sub_mask[None, :, None], raw[:, None, :], 0.0)
        return out

    def raw_change(self, direction: np.ndarray, effort: np.ndarray) -> np.ndarray:
        """The raw change (m, L) of ``effort`` spreads in ``direction``."""
        return effort * (self.sign[None, :] * direction[:, None]) * self.scale[None, :]


def _spread(values: np.ndarray, kind: str) -> float:
    x = values[np.isfinite(values)]
    if len(x) < 2:
        return 0.0
    return float(x.max() - x.min()) if kind == "range" else float(x.std(ddof=1))


def _is_number(x) -> bool:
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool) \
        and math.isfinite(float(x))


# ============================================================================ engine calls
def run_batched(batch: ValueBatch, units: np.ndarray, delta: np.ndarray, read,
                fallback=None, invalid: list | None = None):
    """Run draws through the engine in chunks, keeping only ``read(result, rows)`` of each
    chunk (``rows``: the draws of the chunk), so memory does not grow with the draws.

    A draw the scheme cannot score (a geometric mean meeting a score of 0 when a value falls to
    a goalpost) makes the engine raise :class:`~assesskit.errors.SchemeError` for its chunk;
    the chunk is then halved until the failing draws are found, which get ``fallback(rows)``
    and are appended to ``invalid`` (without ``fallback`` the error propagates).

    Returns
    -------
    ndarray or list
        The outputs of ``read`` (and ``fallback``), concatenated in the order of the draws.
    """
    units = np.asarray(units, np.intp)
    size = max(1, CHUNK_CELLS // max(batch.n, 1))
    out: list = []

    def go(rows):
        try:
            out.append(read(batch.run(units[rows], delta[rows]), rows))
        except SchemeError:
            if fallback is None:
                raise
            if len(rows) == 1:
                out.append(fallback(rows))
                if invalid is not None:
                    invalid.extend(rows.tolist())
                return
            half = len(rows) // 2
            go(rows[:half])
            go(rows[half:])

    for start in range(0, len(units), size):
        go(np.arange(start, min(start + size, len(units))))
    if not out:
        return np.zeros(0)
    if isinstance(out[0], np.ndarray):
        return np.concatenate(out)
    return [x for part in out for x in part]


def first_flip(flipped, t_max: np.ndarray, *, start=START, rtol: float = RTOL,
               atol: float = ATOL) -> tuple[np.ndarray, np.ndarray]:
    """Smallest ``t`` in ``(0, t_max]`` at which ``flipped(idx, t)`` holds, for many problems.

    Parameters
    ----------
    flipped : callable
        ``flipped(idx, t) -> bool array``: whether problem ``idx[k]`` has its new outcome at
        parameter ``t[k]`` (one batch of the engine).
    t_max : ndarray
        Largest parameter of each problem (the room within the bounds).
    start : float or ndarray
        First trial.
    rtol, atol : float
        The bracket is halved until ``hi - lo <= max(rtol * hi, atol)``.

    Returns
    -------
    t : ndarray
        The upper end of the final bracket (the outcome is new there), NaN if none.
    found : ndarray of bool

    Notes
    -----
    Trials go up by ×4 from ``start`` while the outcome is unchanged (the last trial is
    ``t_max``), or down by ÷8 while it is changed, until a bracket ``[lo, hi]`` is found; then
    bisection. When the outcome is monotone in ``t`` the result is the smallest ``t`` to the
    tolerance; otherwise it is the first change on the grid.
    """
    t_max = np.asarray(t_max, float)
    q = len(t_max)
    lo = np.zeros(q)
    hi = np.full(q, np.nan)
    phase = np.where(t_max > atol, 0, 4)  # 0 first, 1 up, 2 down, 3 bracketed, 4 none
    t = np.minimum(np.broadcast_to(np.asarray(start, float), (q,)), t_max)
    while True:
        idx = np.flatnonzero(phase < 3)
        if not len(idx):
            break
        ok = np.asarray(flipped(idx, t[idx]), bool)
        yes, no = idx[ok], idx[~ok]
        hi[yes] = t[yes]
        down = yes[phase[yes] != 1]
        phase[yes[phase[yes] == 1]] = 3
        tiny = down[t[down] / 8 < atol]
        phase[tiny] = 3
        lo[tiny] = 0.0
        more = down[t[down] / 8 >= atol]
        t[more] = t[more] / 8
        phase[more] = 2
        lo[no] = t[no]
        phase[no[phase[no] == 2]] = 3
        up = no[(phase[no] == 0) | (phase[no] == 1)]
        done = up[t[up] >= t_max[up]]
        phase[done] = 4
        up = up[t[up] < t_max[up]]
        t[up] = np.minimum(4 * t[up], t_max[up])
        phase[up] = 1
    while True:
        idx = np.flatnonzero((phase == 3) & (hi - lo > np.maximum(rtol * hi, atol)))
        if not len(idx):
            break
        mid = (lo[idx] + hi[idx]) / 2
        ok = np.asarray(flipped(idx, mid), bool)
        hi[idx[ok]] = mid[ok]
        lo[idx[~ok]] = mid[~ok]
    found = phase == 3
    return np.where(found, hi, np.nan), found


# ============================================================================ the analysis
@dataclass
class _Problems:
    """Search problems: unit, target, direction (+1 improve / -1 worsen), indicator column."""

    unit: np.ndarray
    target: np.ndarray
    direction: np.ndarray
    now: np.ndarray


def _no_flip(rows) -> np.ndarray:
    return np.zeros(len(rows), bool)


def _flip_reader(targets, tgt, unit, now):
    """A ``read`` for :func:`run_batched`: whether each draw has its problem's new outcome."""
    def read(result, rows):
        out = np.zeros(len(rows), bool)
        for k in np.unique(tgt[rows]):
            sel = np.flatnonzero(tgt[rows] == k)
            state = targets[k].holds(result, sel, unit[rows][sel])
            out[sel] = state != now[rows][sel]
        return out
    return read


def counterfactuals(scheme, data: Dataset, period, *, level: str | None = None, units=None,
                    indicators=None, consequences=None, grades: bool = True, ranks=(),
                    bounds="auto", fixed=(), max_change=None, change_in=None,
                    metric: str = "l1", spread: str = "range",
                    search_spreads: float = SEARCH_SPREADS, rtol: float = RTOL,
                    batch: ValueBatch | None = None) -> Counterfactuals:
    """What would it take for each unit to gain or lose each outcome?

    Parameters
    ----------
    scheme : Scheme, str or dict
    data : Dataset
    period : int or str
        A year gives the annual result (of a quarterly scheme: the change is made in every
        quarter, see ``change_in``).
    level : str, optional
        Default: the first level with a consequence or grades.
    units : iterable of str, optional
        Unit ids or Chinese names (default every assessed unit).
    indicators : iterable of str, optional
        Node ids or indicator codes to change (default every leaf of the level).
    consequences : iterable of str, optional
        Consequence keys to analyse (default all of the level's).
    grades : bool
        Also "reach (or keep) grade G or better" for each grade but the last.
    ranks : iterable of int
        Also "rank k or better within the group" (useful for a scheme without consequences).
    bounds, fixed, max_change, change_in
        See :class:`ChangeSpace` and the module notes.
    metric : {"l1", "l2"}
        Effort of a combined change: ``Σ |δ_l| / spread_l`` or ``sqrt(Σ (δ_l / spread_l)²)``.
    spread : {"range", "std"}
    search_spreads : float
        Largest change searched, in spreads, where no bound is nearer.
    rtol : float
        Relative precision of each threshold.
    batch : ValueBatch, optional
        The level compiled already (for several analyses of the same period).

    Returns
    -------
    Counterfactuals

    Raises
    ------
    DataError
        An unknown unit or indicator, bounds with low > high, a bad argument.
    SchemeError
        A consequence the level does not have; a level the scheme does not have.

    Notes
    -----
    See the module notes for the search, its exactness, ties, bounds and quarterly schemes.
    The effort of a change of ``δ`` raw units is ``|δ| / spread`` (0.05 = 5% of the spread).

    Examples
    --------
    >>> cf = counterfactuals("sichuan-39", ak.datasets.load("sichuan-39"), 2025,
    ...                      units=["营山县"], consequences=["praised"])   # doctest: +SKIP
    >>> cf.unit_table("营山县")                                          # doctest: +SKIP
    """
    if metric not in METRICS:
        raise DataError(f"metric must be one of {list(METRICS)}, not {metric!r}")
    if not _is_number(search_spreads) or search_spreads <= 0:
        raise DataError(f"search_spreads must be a number > 0, not {search_spreads!r}")
    if not _is_number(rtol) or not 0 < rtol < 0.01:
        raise DataError(f"rtol must be a number in (0, 0.01), not {rtol!r}")
    batch = batch or compile_level(scheme, data, period, level)
    space = ChangeSpace(batch, data, indicators=indicators, spread=spread, bounds=bounds,
                        fixed=fixed, max_change=max_change, change_in=change_in)
    targets = _select_targets(batch, consequences, grades, ranks)
    chosen = _unit_positions(batch, units)
    nominal = batch.run(np.zeros(1, np.intp), np.zeros((1, len(batch.leaves))))
    holds_now = np.stack([t.holds(nominal)[0] for t in targets]) if targets else \
        np.zeros((0, batch.n), bool)
    # problems: unit x target x direction
    pu, pt, pd_, pn = [], [], [], []
    finite = np.isfinite(nominal.total[0])
    for k, tg in enumerate(targets):
        for i in chosen:
            if not finite[i]:
                continue
            now = bool(holds_now[k, i])
            dirs = [tg.sense * (-1 if now else 1)] if tg.sense else [1, -1]
            for o in dirs:
                pu.append(i)
                pt.append(k)
                pd_.append(o)
                pn.append(now)
    probs = _Problems(np.array(pu, np.intp), np.array(pt, np.intp), np.array(pd_, float),
                      np.array(pn, bool))
    cf = Counterfactuals(scheme=batch.scheme, dataset=data.name, period=batch.period,
                         level=batch.level, targets=targets, metric=metric,
                         spread_kind=spread, space=space, batch=batch,
                         search_spreads=float(search_spreads), rtol=float(rtol),
                         nominal=nominal, holds_now=holds_now, units=chosen)
    cf._solve(probs)
    return cf


def compile_level(scheme, data: Dataset, period, level: str | None = None, *,
                  evaluation=None) -> ValueBatch:
    """The level compiled for analyses that change raw values (:class:`ValueBatch`); ``level``
    defaults to :func:`default_level`; ``evaluation`` is ``evaluate(scheme, data, period)`` if
    already computed."""
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    if not isinstance(data, Dataset):
        raise TypeError("data must be an assesskit Dataset (see assesskit.datasets.load)")
    level = level or default_level(scheme)
    if level not in scheme.levels:
        raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; its levels are "
                          f"{list(scheme.levels)}", key=f"levels.{level}")
    with scheme.located():
        return ValueBatch(scheme, data, normalise_period(period), level, evaluation=evaluation)


def _select_targets(batch: ValueBatch, consequences, grades, ranks) -> list[Target]:
    targets = level_targets(batch.decisions, grades=grades, ranks=ranks)
    if consequences is None:
        return targets
    consequences = [consequences] if isinstance(consequences, str) else list(consequences)
    keys = [t.key for t in targets if t.kind != "rank"]
    have = list(batch.decisions.keys)
    unknown = [c for c in consequences if c not in keys]
    if unknown:
        raise SchemeError(f"level {batch.level!r} of scheme {batch.scheme.name!r} has no "
                          f"consequence {unknown[0]!r}; its consequences are {have}"
                          + (f" and its grade targets {[k for k in keys if k not in have]}"
                             if len(keys) > len(have) else ""),
                          key=f"levels.{batch.level}.consequences")
    return [t for t in targets if t.key in consequences or t.kind == "rank"]


def _unit_positions(batch: ValueBatch, units) -> np.ndarray:
    if units is None:
        return np.arange(batch.n)
    units = [units] if isinstance(units, str) else list(units)
    ids = batch.units["unit"].astype(str).tolist()
    names = batch.units["name"].astype(str).tolist()
    out, problems = [], []
    for u in units:
        u = str(u)
        if u in ids:
            out.append(ids.index(u))
        elif u in names:
            out.append(names.index(u))
        else:
            problems.append(Problem(f"unit {u!r} is not assessed at level {batch.level!r} of "
                                    f"scheme {batch.scheme.name!r} in {batch.period}; give a unit "
                                    "id or Chinese name of an assessed unit (e.g. "
                                    f"{ids[0]} or {names[0]})", column="unit", value=u))
    if problems:
        raise DataError(problems, title="unknown unit(s)")
    return np.array(list(dict.fromkeys(out)), np.intp)


@dataclass
class Counterfactuals:
    """What it would take: the result of :func:`counterfactuals`.

    Attributes
    ----------
    single : DataFrame
        One row per unit, outcome, direction and indicator: unit, name, group, target,
        target_label, has_now, want (``gain``/``lose``), direction (``improve``/``worsen``),
        node, indicator, indicator_name, unit_of_measure, value, change (raw units), new_value,
        effort (|change| / spread), status (``found``, ``infeasible within bounds``,
        ``infeasible within the search range``, ``at bound``, ``fixed``, ``no value``),
        new_score, new_group_rank, tie (``takes the place`` / ``shares the place``),
        shares_with, displaces.
    combined : DataFrame
        One row per unit, outcome and direction: the cheapest combined change by ``metric``:
        effort, status, via (``path`` or ``single``), n_indicators, changes (text), new_score,
        new_group_rank, tie, shares_with, displaces.
    changes : DataFrame
        The combined changes, one row per indicator changed: unit, target, direction, node,
        indicator, value, change, new_value, effort.
    bounds : DataFrame
        The bounds, spreads and limits of every indicator (:attr:`ChangeSpace.table`).
    notices : list of Notice
    """

    scheme: Scheme
    dataset: str
    period: str
    level: str
    targets: list
    metric: str
    spread_kind: str
    space: ChangeSpace
    batch: ValueBatch = field(repr=False)
    search_spreads: float
    rtol: float
    nominal: ValueResult = field(repr=False)
    holds_now: np.ndarray = field(repr=False)
    units: np.ndarray = field(repr=False)
    single: pd.DataFrame = field(default_factory=pd.DataFrame)
    combined: pd.DataFrame = field(default_factory=pd.DataFrame)
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    notices: list = field(default_factory=list)
    _invalid: list = field(default_factory=list, repr=False)

    @property
    def bounds(self) -> pd.DataFrame:
        return self.space.table

    # ------------------------------------------------------------------ solving
    def _solve(self, probs: _Problems) -> None:
        space, batch = self.space, self.batch
        self.notices = list(space.notices)
        L = space.L
        # single indicators: every problem x every indicator that concerns the unit
        q = np.repeat(np.arange(len(probs.unit)), L)
        col = np.tile(np.arange(L), len(probs.unit))
        unit, direction = probs.unit[q], probs.direction[q]
        concerns = space.applies[unit, col]
        q, col, unit, direction = q[concerns], col[concerns], unit[concerns], direction[concerns]
        has_value = np.isfinite(space.value[unit, col])
        room_all = space.room(unit, direction)
        room = room_all[np.arange(len(q)), col] if len(q) else np.zeros(0)
        limit = np.minimum(room, self.search_spreads)
        status = np.full(len(q), "", dtype=object)
        status[~has_value] = "no value"
        status[has_value & space.fixed[col]] = "fixed"
        status[(status == "") & ~(room > ATOL)] = "at bound"
        search = np.flatnonzero(status == "")
        tgt, now = probs.target[q], probs.now[q]
        read = _flip_reader(self.targets, tgt, unit, now)

        def flipped(idx, t):
            rows = search[idx]
            effort = np.zeros((len(rows), L))
            effort[np.arange(len(rows)), col[rows]] = t
            delta = space.delta(unit[rows], direction[rows], effort)
            return run_batched(batch, unit[rows], delta, lambda res, r: read(res, rows[r]),
                               _no_flip, self._invalid)

        t_star, found = first_flip(flipped, limit[search], rtol=self.rtol)
        effort = np.full(len(q), np.nan)
        effort[search[found]] = t_star[found]
        bound_limited = room[search] <= self.search_spreads
        status[search[found]] = "found"
        status[search[~found & bound_limited]] = "infeasible within bounds"
        status[search[~found & ~bound_limited]] = "infeasible within the search range"
        single_effort = np.zeros((len(q), L))
        single_effort[np.arange(len(q)), col] = np.nan_to_num(effort)
        after = self._after(unit, tgt, now, direction, single_effort, status == "found")
        raw = np.where(np.isfinite(effort), effort * space.scale[col] * space.sign[col]
                       * direction, np.nan)
        self.single = self._single_table(probs, q, col, unit, tgt, direction, raw, effort,
                                         status, after)
        # the cheapest combined change
        self._combine(probs, q, col, effort)
        if self._invalid:
            self.notices.append(Notice(
                "unscorable_values", f"{len(self._invalid)} trial value(s) could not be scored by "
                "the scheme (a geometric mean meeting a score of 0): treated as not achieving the "
                "outcome", f"level {self.level}"))

    def _after(self, unit, tgt, now, direction, effort, ok) -> dict:
        """New score, group rank, tie and displaced units of the changes ``effort`` (m, L)."""
        m = len(unit)
        out = {"new_score": np.full(m, np.nan), "new_group_rank": np.full(m, np.nan),
               "tie": np.full(m, "", dtype=object), "shares_with": np.full(m, "", dtype=object),
               "displaces": np.full(m, "", dtype=object)}
        rows = np.flatnonzero(ok)
        if not len(rows):
            return out
        space, batch, dec = self.space, self.batch, self.batch.decisions
        names = batch.units["name"].astype(str).to_numpy()
        delta = space.delta(unit[rows], direction[rows], effort[rows])

        def read(res, r):
            i, k = unit[rows][r], tgt[rows][r]
            a = np.arange(len(r))
            same = np.ones((len(r), batch.n), bool)
            for key in res.keys:
                same &= key == key[a, i][:, None]
            moved = np.zeros((len(r), batch.n), bool)
            for kk in np.unique(k):
                sel = np.flatnonzero(k == kk)
                target = self.targets[kk]
                codes = target.quota_rows if target.quota_rows is not None else dec.groups.codes
                same[sel] &= codes[None, :] == codes[i[sel]][:, None]
                moved[sel] = target.holds(res)[sel] != self.holds_now[kk][None, :]
            same[a, i] = False
            moved[a, i] = False
            ranked = np.array([self.targets[kk].kind in ("quota", "rank") for kk in k])
            gain = ~now[rows][r]
            shared = same.any(axis=1)
            tie = np.where(shared, "takes the place (tie ordered by unit id)"
                           if dec.tie_method == "first" else "shares the place",
                           np.where(ranked, "takes the place", ""))
            tie = np.where(gain, tie, np.where(shared, "tied", ""))
            return [(res.total[x, i[x]], res.group_rank[x, i[x]], tie[x],
                     "、".join(names[same[x]]), "、".join(names[moved[x]])) for x in a]

        flat = run_batched(batch, unit[rows], delta, read,
                           lambda r: [(np.nan, np.nan, "", "", "")] * len(r), self._invalid)
        for key, pos in (("new_score", 0), ("new_group_rank", 1), ("tie", 2),
                         ("shares_with", 3), ("displaces", 4)):
            out[key][rows] = [x[pos] for x in flat]
        return out

    def _base_columns(self, probs: _Problems, q: np.ndarray) -> dict:
        batch = self.batch
        u = batch.units
        gb = batch.scheme.levels[self.level].ranking.get("group_by")
        unit = probs.unit[q]
        tg = [self.targets[k] for k in probs.target[q]]
        return {
            "unit": u["unit"].astype(str).to_numpy()[unit],
            "name": u["name"].astype(str).to_numpy()[unit],
            "group": (u[gb].astype(str).to_numpy()[unit] if gb else np.full(len(q), "")),
            "target": [t.key for t in tg], "target_label": [t.label for t in tg],
            "has_now": probs.now[q],
            "want": np.where(probs.now[q], "lose", "gain"),
            "direction": np.where(probs.direction[q] > 0, "improve", "worsen"),
        }

    def _single_table(self, probs, q, col, unit, tgt, direction, raw, effort, status, after):
        space = self.space
        frame = pd.DataFrame(self._base_columns(probs, q))
        value = space.value[unit, col]
        frame["node"] = np.asarray(space.ids, dtype=object)[col]
        frame["indicator"] = np.asarray(space.codes, dtype=object)[col]
        frame["indicator_name"] = np.asarray(space.names, dtype=object)[col]
        frame["unit_of_measure"] = np.asarray(space.uom, dtype=object)[col]
        frame["value"] = value
        frame["change"] = raw
        frame["new_value"] = value + raw
        frame["effort"] = effort
        frame["status"] = status
        for key in ("new_score", "new_group_rank", "tie", "shares_with", "displaces"):
            frame[key] = after[key]
        return frame.reset_index(drop=True)

    def _combine(self, probs: _Problems, q, col, single_effort) -> None:
        space, batch, L = self.space, self.batch, self.space.L
        nq = len(probs.unit)
        # best single indicator per problem
        best_single = np.full(nq, np.nan)
        best_col = np.full(nq, -1)
        ok = np.isfinite(single_effort)
        if ok.any():
            frame = pd.DataFrame({"q": q[ok], "col": col[ok], "e": single_effort[ok]})
            best = frame.sort_values(["q", "e", "col"], kind="mergesort").drop_duplicates("q")
            best_single[best["q"].to_numpy()] = best["e"].to_numpy()
            best_col[best["q"].to_numpy()] = best["col"].to_numpy()
        # the path of each (unit, direction)
        pairs, pair_of = np.unique(np.column_stack([probs.unit, probs.direction]), axis=0,
                                   return_inverse=True)
        pair_of = pair_of.reshape(-1)
        pu, po = pairs[:, 0].astype(np.intp), pairs[:, 1]
        room = space.room(pu, po) if len(pu) else np.zeros((0, L))
        usable = space.usable(pu) & (room > ATOL) & ~space.fixed[None, :]
        room = np.where(usable, np.minimum(room, self.search_spreads), 0.0)
        cap, rate = self._caps_and_rates(pu, po, room)
        path = _Path(self.metric, cap, rate, room)
        tgt, now = probs.target, probs.now
        read = _flip_reader(self.targets, tgt, probs.unit, now)

        def flipped(idx, t):
            effort = path.effort(pair_of[idx], t)
            delta = space.delta(probs.unit[idx], probs.direction[idx], effort)
            return run_batched(batch, probs.unit[idx], delta, lambda res, r: read(res, idx[r]),
                               _no_flip, self._invalid)

        t_star, found = first_flip(flipped, path.length[pair_of], start=path.start[pair_of],
                                   rtol=self.rtol)
        effort = np.zeros((nq, L))
        effort[found] = path.effort(pair_of[found], t_star[found])
        path_cost = np.where(found, path.cost(effort), np.nan)
        use_single = np.isfinite(best_single) & ~(path_cost < best_single)
        effort[use_single] = 0.0
        effort[use_single, best_col[use_single]] = best_single[use_single]
        cost = np.where(use_single, best_single, path_cost)
        status = np.where(np.isfinite(cost), "found", "infeasible")
        after = self._after(probs.unit, tgt, now, probs.direction, effort, np.isfinite(cost))
        raw = space.raw_change(probs.direction, effort)
        frame = pd.DataFrame(self._base_columns(probs, np.arange(nq)))
        frame["metric"] = self.metric
        frame["effort"] = cost
        frame["status"] = status
        frame["via"] = np.where(use_single, "single", np.where(found, "path", ""))
        frame["n_indicators"] = (effort > 0).sum(axis=1)
        texts, rows = [], []
        for k in range(nq):
            parts = []
            for li in np.flatnonzero(effort[k] > 0):
                parts.append(f"{space.names[li]} {format_change(raw[k, li], space.uom[li])}")
                rows.append({"unit": frame["unit"].iat[k], "name": frame["name"].iat[k],
                             "target": frame["target"].iat[k],
                             "direction": frame["direction"].iat[k], "node": space.ids[li],
                             "indicator": space.codes[li], "indicator_name": space.names[li],
                             "unit_of_measure": space.uom[li],
                             "value": space.value[probs.unit[k], li], "change": raw[k, li],
                             "new_value": space.value[probs.unit[k], li] + raw[k, li],
                             "effort": effort[k, li]})
            texts.append("; ".join(parts))
        frame["changes"] = texts
        for key in ("new_score", "new_group_rank", "tie", "shares_with", "displaces"):
            frame[key] = after[key]
        self.combined = frame
        self.changes = pd.DataFrame(rows, columns=["unit", "name", "target", "direction", "node",
                                                   "indicator", "indicator_name",
                                                   "unit_of_measure", "value", "change",
                                                   "new_value", "effort"])

    def _caps_and_rates(self, pu, po, room) -> tuple[np.ndarray, np.ndarray]:
        """For each (unit, direction) and indicator: the effort after which the unit's own
        score on it stops changing (cap), and the points gained per spread up to there."""
        space, batch, L = self.space, self.batch, self.space.L
        P = len(pu)
        cap = np.zeros((P, L))
        rate = np.zeros((P, L))
        r, c = np.nonzero(room > 0)
        if not len(r):
            return cap, rate
        units, dirs = pu[r], po[r]

        def own(rows, t):
            effort = np.zeros((len(rows), L))
            effort[np.arange(len(rows)), c[rows]] = t
            delta = space.delta(units[rows], dirs[rows], effort)
            scores = batch.own_scores(units[rows], delta)
            return scores[np.arange(len(rows)), np.asarray(space.cols)[c[rows]]]

        s0 = own(np.arange(len(r)), np.zeros(len(r)))
        s_end = own(np.arange(len(r)), room[r, c])
        moves = np.abs(s_end - s0) > 1e-9
        tol = 1e-9 * np.maximum(1.0, np.abs(s_end))

        def saturated(idx, t):
            rows = np.flatnonzero(moves)[idx]
            return dirs[rows] * (own(rows, t) - s_end[rows]) >= -tol[rows]

        t_cap, found = first_flip(saturated, room[r, c][moves], rtol=1e-3)
        cap_rc = np.zeros(len(r))
        cap_rc[np.flatnonzero(moves)[found]] = t_cap[found]
        cap[r, c] = cap_rc
        # points gained per spread up to the cap, on the engine
        has = cap_rc > 0
        rows = np.flatnonzero(has)
        if len(rows):
            effort = np.zeros((len(rows), L))
            effort[np.arange(len(rows)), c[rows]] = cap_rc[rows]
            delta = space.delta(units[rows], dirs[rows], effort)
            base = self.nominal.total[0]
            total = run_batched(batch, units[rows], delta,
                                lambda res, rr: res.total[np.arange(len(rr)), units[rows][rr]],
                                lambda rr: np.full(len(rr), np.nan), self._invalid)
            gain = total - base[units[rows]]
            rate[r[rows], c[rows]] = dirs[rows] * gain / cap_rc[rows]
        return cap, np.where(np.isfinite(rate), rate, 0.0)

    # ------------------------------------------------------------------ tables for people
    def to_frame(self) -> pd.DataFrame:
        """The single-indicator changes (one row per unit, outcome, direction, indicator)."""
        return self.single

    def unit_table(self, unit: str, *, lang: str = "zh", found_only: bool = True
                   ) -> pd.DataFrame:
        """One unit's "what it would take" table, for a report page.

        Parameters
        ----------
        unit : str
            Unit id or Chinese name.
        lang : {"zh", "en"}
            Column names and words in Chinese or English.
        found_only : bool
            Keep only the changes that achieve the outcome (plus the combined row).

        Returns
        -------
        DataFrame
            One row per outcome and indicator (the single-indicator changes, cheapest first),
            then the cheapest combined change of each outcome: outcome, what (gain / lose),
            indicator, value now, change (rounded away from zero, so applying it still changes
            the outcome), new value, share of the spread, place (takes / shares), status.
        """
        rows = self._rows_of(unit)
        single = self.single[rows["single"]]
        if found_only:
            single = single[single["status"] == "found"]
        single = single.sort_values(["target", "direction", "effort"], kind="mergesort")
        comb = self.combined[rows["combined"]]
        en = lang == "en"
        records = []
        for r in single.itertuples(index=False):
            records.append(self._record(r, r.indicator_name, format_change(
                r.change, r.unit_of_measure, lang=lang), r.value,
                r.value + round_away(r.change), en))
        for r in comb.itertuples(index=False):
            if found_only and r.status != "found":
                continue
            parts = self.changes[(self.changes["unit"] == r.unit)
                                 & (self.changes["target"] == r.target)
                                 & (self.changes["direction"] == r.direction)]
            text = "; ".join(f"{c.indicator_name} "
                             f"{format_change(c.change, c.unit_of_measure, lang=lang)}"
                             for c in parts.itertuples(index=False))
            records.append(self._record(r, ("combined (" if en else "组合（") + self.metric.upper()
                                        + (")" if en else "）"), text, np.nan, np.nan, en))
        columns = (["outcome", "want", "indicator", "value", "change", "new_value",
                    "share_of_spread", "place", "status"] if en else
                   ["结果", "方向", "指标", "当前值", "需要的变化", "变化后", "占全距", "名次", "状态"])
        return pd.DataFrame(records, columns=columns)

    def _record(self, r, indicator, change, value, new_value, en: bool) -> list:
        want = {"gain": "得到" if not en else "gain", "lose": "失去" if not en else "lose"}[r.want]
        share = f"{r.effort:.1%}" if np.isfinite(r.effort) else ""
        place = r.tie if en else _TIE_ZH.get(r.tie, r.tie)
        if r.shares_with:
            place += (" with " if en else "：") + r.shares_with
        status = r.status if en else _STATUS_ZH.get(r.status, r.status)
        return [r.target_label, want, indicator, value, change, new_value, share, place, status]

    def _rows_of(self, unit: str) -> dict:
        key = str(unit)
        ids = self.batch.units["unit"].astype(str)
        names = self.batch.units["name"].astype(str)
        hit = ids[(ids == key) | (names == key)]
        if hit.empty:
            raise DataError(f"unit {key!r} is not assessed at level {self.level!r}; give a unit "
                            "id or Chinese name of an assessed unit")
        uid = hit.iloc[0]
        if not len(self.single) or uid not in set(self.single["unit"]) | set(self.combined["unit"]):
            analysed = self.batch.units["unit"].astype(str).to_numpy()[self.units]
            if uid not in analysed:
                raise DataError(f"unit {key!r} was not among the units analysed; pass it in units=")
        return {"single": (self.single["unit"] == uid).to_numpy() if len(self.single)
                else np.zeros(0, bool),
                "combined": (self.combined["unit"] == uid).to_numpy() if len(self.combined)
                else np.zeros(0, bool)}

    def for_unit(self, unit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The single-indicator rows and the combined rows of one unit (id or Chinese name)."""
        rows = self._rows_of(unit)
        return self.single[rows["single"]], self.combined[rows["combined"]]

    def cheapest(self) -> pd.DataFrame:
        """The cheapest single-indicator change of each unit, outcome and direction."""
        found = self.single[self.single["status"] == "found"]
        if found.empty:
            return found
        return (found.sort_values(["unit", "target", "direction", "effort"], kind="mergesort")
                .drop_duplicates(["unit", "target", "direction"]).reset_index(drop=True))

    def within(self, share: float = 0.01) -> pd.DataFrame:
        """Units whose outcome a single-indicator change of at most ``share`` of the spread
        changes (gaming exposure: how fragile the lists are to small reporting changes)."""
        s = self.single
        return s[(s["status"] == "found") & (s["effort"] <= share)].reset_index(drop=True)

    def standing(self, unit: str) -> pd.Series:
        """The unit's row of the evaluation's scores (score, ranks, outcome, grade)."""
        single, combined = self.for_unit(unit)
        ids = self.batch.units["unit"].astype(str)
        names = self.batch.units["name"].astype(str)
        uid = ids[(ids == str(unit)) | (names == str(unit))].iloc[0]
        scores = self.batch.evaluation.scores
        return scores[(scores["level"] == self.level) & (scores["unit"] == uid)].iloc[0]

    def describe_unit(self, unit: str) -> str:
        """What it would take for one unit, in words (Markdown): its standing, and for each
        outcome it could gain or lose the cheapest single-indicator change, how many indicators
        could do it alone, who would be displaced, and the cheapest combined change. Names taken
        from the data are escaped for Markdown."""
        single, combined = self.for_unit(unit)
        s = self.standing(unit)
        gb = self.scheme.levels[self.level].ranking.get("group_by")
        size = int((self.batch.evaluation.scores["level"] == self.level).sum()) if not gb else \
            int(((self.batch.evaluation.scores["level"] == self.level)
                 & (self.batch.evaluation.scores[gb] == s[gb])).sum())
        where = f"in {md_text(s[gb])}" if gb else "among all assessed units"
        now = md_text(s["outcome_label"]) if s["outcome_label"] else "no consequence"
        grade = f", grade {md_text(s['grade'])}" if s["grade"] else ""
        places = min(int(self.batch.decisions.decimals), 4)  # as the scheme compares totals
        lines = [f"**{md_text(s['name'])}** scores {s['score']:.{places}f} in {self.period}, rank "
                 f"{int(s['group_rank'])} of {size} {where}: {now}{grade}."]
        if combined.empty:
            lines.append("The level has no consequence, grade or rank target to gain or lose.")
        for r in combined.itertuples(index=False):
            verb = "gain" if r.want == "gain" else "lose"
            how = "improving" if r.direction == "improve" else "worsening"
            part = single[(single["target"] == r.target) & (single["direction"] == r.direction)]
            ok = part[part["status"] == "found"].sort_values("effort", kind="mergesort")
            head = f"- To **{verb} {md_text(r.target_label)}** (by {how}): "
            if not ok.empty:
                b = ok.iloc[0]
                text = (f"the smallest single change is {md_text(b['indicator_name'])} "
                        f"{md_text(format_change(b['change'], b['unit_of_measure']), inline=True)} "
                        f"({b['effort']:.1%} of its spread)")
                if b["tie"] == "shares the place" and b["shares_with"]:
                    text += f", sharing the place with {md_text(b['shares_with'])}"
                if b["displaces"]:
                    text += f", which would change the outcome of {md_text(b['displaces'])}"
                text += (f"; {len(ok)} of {len(part)} indicators could do it alone"
                         if len(ok) > 1 else "; no other indicator could do it alone")
            else:
                text = "no single indicator can do it within the bounds"
            if r.status == "found":
                if r.via == "path" and r.n_indicators > 1:
                    parts = self.changes[(self.changes["unit"] == r.unit)
                                         & (self.changes["target"] == r.target)
                                         & (self.changes["direction"] == r.direction)]
                    text += (f". The cheapest combination ({self.metric.upper()}) costs "
                             f"{r.effort:.1%} of a spread: " + "; ".join(
                                 f"{md_text(c.indicator_name)} {md_text(format_change(c.change, c.unit_of_measure), inline=True)}"
                                 for c in parts.itertuples(index=False)))
                else:
                    text += ". No combination is cheaper than the best single change"
            else:
                text += ". No change within the bounds and the search range achieves it"
                if bool(s["vetoed"]):
                    text += f" (vetoed, 一票否决: {md_text(s['veto_reason'])})"
            lines.append(head + text + ".")
        return "\n".join(lines)

    def summary(self) -> str:
        """What it takes, in words: per outcome, how many units can change it and how cheaply,
        the bounds used and every decision taken by a policy."""
        lines = [f"What it would take — {self.scheme.name}, {self.dataset}, period {self.period}, "
                 f"level {self.level}"]
        subs = self.batch.sub_periods
        if len(subs) > 1:
            lines.append(f"Changes are made in each of the sub-periods "
                         f"{', '.join(self.space.changed_periods)}; the annual result combines "
                         f"{', '.join(subs)} with the scheme's combine weights.")
        lines.append(f"Effort = |change| / spread ({self.spread_kind} over the level's units); "
                     f"combined changes by {self.metric.upper()}; search up to "
                     f"{self.search_spreads:g} spreads, precision {self.rtol:g}.")
        if not self.targets:
            lines.append("The level has no consequence, grade or rank target to gain or lose.")
        cheapest = self.cheapest()
        for t in self.targets:
            for want in ("gain", "lose"):
                sub = self.combined[(self.combined["target"] == t.key)
                                    & (self.combined["want"] == want)]
                if sub.empty:
                    continue
                ok = sub[sub["status"] == "found"]
                line = (f"  {t.label} ({t.key}), {want}: {len(ok)} of {len(sub)} unit-directions "
                        "feasible")
                cs = cheapest[(cheapest["target"] == t.key) & (cheapest["want"] == want)]
                if len(cs):
                    best = cs.sort_values("effort", kind="mergesort").iloc[0]
                    line += (f"; cheapest single change: {best['name']} "
                             f"{best['indicator_name']} {format_change(best['change'], best['unit_of_measure'], lang='en')}"
                             f" ({best['effort']:.2%} of the spread)")
                    line += f"; within 1% of the spread: {cs['unit'][cs['effort'] <= 0.01].nunique()} unit(s)"
                lines.append(line)
        zs = [nd.id for nd in self.space.nodes
              if (nd.scoring.get("then", nd.scoring) or {}).get("method") == "zscore"
              or nd.scoring.get("method") == "zscore"]
        if zs:
            lines.append(f"z-score rules ({', '.join(zs)}): a unit's standing can be non-monotone "
                         "in its own value; the first change on the search grid is reported.")
        lines.append("Bounds: " + "; ".join(
            f"{r.node} [{_fmt_bound(r.low)}, {_fmt_bound(r.high)}] ({r.bound_source})"
            + (" fixed" if r.fixed else "") for r in self.bounds.itertuples()))
        if self.notices:
            lines.append(f"{len(self.notices)} decision(s) taken by a documented policy:")
            lines.extend(f"  - {n}" for n in self.notices)
        return "\n".join(lines)

    def plot(self, unit: str | None = None, **kwargs):
        """Effort of each single-indicator change of one unit (bars per outcome), or of the
        cheapest change of every unit (dots by group); see
        :func:`assesskit.report.incentives.plot_what_it_takes`."""
        from ..report.incentives import plot_what_it_takes  # report layer, on call only

        return plot_what_it_takes(self, unit=unit, **kwargs)

    def _repr_html_(self) -> str:
        head = (f"<p><b>What it would take</b> — {html.escape(self.scheme.name)}, "
                f"{html.escape(self.dataset)}, period {html.escape(self.period)}, level "
                f"{html.escape(self.level)} ({self.metric.upper()} effort)</p>")
        cols = ["name", "target_label", "want", "effort", "status", "changes", "tie"]
        table = self.combined[cols] if len(self.combined) else pd.DataFrame(columns=cols)
        return head + table.to_html(index=False, escape=True, float_format="{:.2%}".format)


_TIE_ZH = {"takes the place": "独占名次", "shares the place": "并列",
           "takes the place (tie ordered by unit id)": "独占（并列按编号排序）", "tied": "并列",
           "": ""}
_STATUS_ZH = {"found": "可达", "infeasible": "不可达", "infeasible within bounds": "界限内不可达",
              "infeasible within the search range": "搜索范围内不可达", "at bound": "已到界限",
              "fixed": "不可变动", "no value": "无数据"}


def _fmt_bound(x: float) -> str:
    return "−∞" if x == -np.inf else "∞" if x == np.inf else f"{x:g}"


class _Path:
    """The combined-change path of each (unit, direction): effort per indicator at parameter
    ``t`` (see the module notes)."""

    def __init__(self, metric: str, cap: np.ndarray, rate: np.ndarray, room: np.ndarray):
        self.metric = metric
        P, L = cap.shape
        cap = np.minimum(cap, room)
        good = (rate > 0) & (cap > 0)
        self.base = np.where(good, cap, 0.0)  # phase 1 fills these caps
        self.rest = np.maximum(room - self.base, 0.0)  # phase 2 moves on to the bounds
        self.rate = np.where(good, rate, 0.0)
        if metric == "l1":
            # indicator k comes before l when it pays more per spread (ties: the scheme's order);
            # l's stretch of the path starts after the stretches of every indicator before it
            key = np.where(good, rate, -np.inf)
            cols = np.arange(L)
            before = (key[:, None, :] > key[:, :, None]) | (
                (key[:, None, :] == key[:, :, None]) & (cols[None, :] < cols[:, None])[None])
            total_base = self.base.sum(axis=1)
            self.start1 = (before * self.base[:, None, :]).sum(axis=2)
            self.start2 = total_base[:, None] + (before * self.rest[:, None, :]).sum(axis=2)
            self.length = total_base + self.rest.sum(axis=1)
            self.start = np.full(P, START)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(good, self.base / self.rate, 0.0)
            self.knee = ratio.max(axis=1) if L else np.zeros(P)
            self.length = self.knee + (self.rest.max(axis=1) if L else 0.0)
            top = self.rate.max(axis=1) if L else np.zeros(P)
            self.start = np.where(top > 0, START / np.where(top > 0, top, 1.0), START)
        self.length = np.where(self.length > ATOL, self.length, 0.0)

    def effort(self, pair: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Effort (m, L) in spreads at path parameter ``t`` for the pairs ``pair``."""
        t = np.asarray(t, float)[:, None]
        if self.metric == "l1":
            return (np.clip(t - self.start1[pair], 0.0, self.base[pair])
                    + np.clip(t - self.start2[pair], 0.0, self.rest[pair]))
        first = np.minimum(self.base[pair], t * self.rate[pair])
        second = np.minimum(self.rest[pair], np.maximum(t - self.knee[pair][:, None], 0.0))
        return first + second

    def cost(self, effort: np.ndarray) -> np.ndarray:
        return effort.sum(axis=1) if self.metric == "l1" else np.sqrt((effort ** 2).sum(axis=1))


# ============================================================================ helpers for people
def format_change(change: float, unit_of_measure: str = "", *, lang: str = "en",
                  digits: int = 4) -> str:
    """A change as people read it, rounded **away from zero** to ``digits`` significant digits
    (so that applying the number shown still achieves the outcome).

    Examples
    --------
    >>> format_change(1240.37, "yuan")
    '+1,241 yuan'
    >>> format_change(-0.012341, "%")
    '-0.01235 percentage points'
    >>> format_change(2.5, "%", lang="zh")
    '+2.5个百分点'
    """
    if change is None or not np.isfinite(change):
        return ""
    if change == 0:
        return "0"
    rounded, decimals = _round_away(float(change), digits)
    text = f"{abs(rounded):,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    sign = "+" if change > 0 else "-"
    uom = (unit_of_measure or "").strip()
    if uom.startswith("%") or uom.startswith("％"):
        uom = "个百分点" if lang == "zh" else "percentage points"
        return f"{sign}{text}{uom}" if lang == "zh" else f"{sign}{text} {uom}"
    return f"{sign}{text}" + (f" {uom}" if uom else "")


def round_away(x: float, digits: int = 4) -> float:
    """``x`` rounded away from zero to ``digits`` significant digits (see :func:`format_change`).

    Examples
    --------
    >>> round_away(1240.37)
    1241.0
    >>> round_away(-0.012341)
    -0.01235
    """
    if x is None or not np.isfinite(x) or x == 0:
        return x
    return _round_away(float(x), digits)[0]


def _round_away(x: float, digits: int) -> tuple[float, int]:
    mag = abs(x)
    exponent = math.floor(math.log10(mag)) - digits + 1
    step = 10.0 ** exponent
    decimals = max(0, -exponent)
    rounded = round(math.ceil(mag / step - 1e-9) * step, decimals)
    return math.copysign(rounded, x), decimals


def apply_change(data: Dataset, unit: str, changes: Mapping[str, float], periods) -> Dataset:
    """A copy of ``data`` with ``changes`` (indicator code -> raw change) added to one unit's
    values in ``periods`` (one period or several), e.g. to check a counterfactual with
    :func:`assesskit.evaluate`.

    Raises
    ------
    DataError
        If the unit has no value of an indicator in a period.
    """
    periods = [normalise_period(p) for p in ([periods] if isinstance(periods, str | int)
                                             else periods)]
    values = data.values.copy()
    unit_col = values["unit"].astype(str)
    for code, amount in changes.items():
        hit = (unit_col == str(unit)) & (values["indicator"] == code) & \
            values["period"].astype(str).isin(periods)
        if int(hit.sum()) != len(periods) or values.loc[hit, "value"].isna().any():
            raise DataError(f"unit {unit!r} has no value of {code!r} in every period of "
                            f"{periods}; a change needs a value to change")
        values.loc[hit, "value"] = values.loc[hit, "value"] + float(amount)
    return Dataset(data.name, data.units, data.indicators, values, data.provenance,
                   dict(data.sources), data.ratings, data.rating_scale)


def unit_what_it_takes(scheme, data: Dataset, period, unit: str, *, lang: str = "zh",
                       **kwargs) -> pd.DataFrame:
    """One unit's "what it would take" table, for a report page (see
    :meth:`Counterfactuals.unit_table`); ``kwargs`` go to :func:`counterfactuals`."""
    cf = counterfactuals(scheme, data, period, units=[unit], **kwargs)
    return cf.unit_table(unit, lang=lang)
