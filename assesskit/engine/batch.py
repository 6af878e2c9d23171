"""Many designs of one level at once: the engine's kernels over a leading draws axis.

:class:`LevelBatch` compiles a level of a scheme once for a period — the nominal evaluation (for
the levels it rolls up from), each sub-period's :class:`~assesskit.engine.level.LevelModel`, and,
for every combination of discrete design options (normalisation × grouping × missing-value
policy × aggregation, and grouping × quota scale), the leaf scores, aggregation plans and
ranking rules of the variant scheme :func:`~assesskit.engine.design.apply_design` writes. Then
:meth:`LevelBatch.run` streams draws — option indices and weight multipliers — through the same
kernels ``evaluate`` uses (:func:`~assesskit.engine.tree.aggregate`,
:meth:`~assesskit.engine.level.LevelModel.totals`,
:meth:`~assesskit.engine.consequences.LevelDecisions.decide`). Every draw can be rebuilt as a
scheme (:meth:`LevelBatch.scheme_for`), and ``evaluate`` of it gives the same ranks and
outcomes.

The levels a level rolls up from (a prefecture's counties) keep their nominal results: only the
analysed level's design varies.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..data.model import Dataset
from ..errors import DataError, SchemeError
from ..scheme.model import Scheme
from .consequences import LevelDecisions
from .design import OFFICIAL, Design, apply_design
from .evaluation import evaluate
from .level import LevelModel, Scorer, grouping_for, with_scheme_groups
from .ranking import ranks_within, score_keys
from .review import refuse_review
from .tree import aggregate


def level_models(spec, data: Dataset, ev, subs: list, units: pd.DataFrame) -> list:
    """The level compiled for each sub-period of an evaluation, as ``evaluate`` compiles it
    (the levels it rolls up from at their nominal results; a year of a quarterly scheme counts
    the year's negative-list incidents once)."""
    over = list(subs) if len(subs) > 1 else None
    return [LevelModel(spec, data, p, {**ev.linked_inputs, **ev.sub_results[p]}, units=units,
                       deductions_over=over)
            for p in subs]


def fixed_inputs(spec, period: str) -> list[str]:
    """Sentences saying which results a Monte Carlo over ``spec``'s design keeps fixed: the
    nominal results of the levels (of this scheme or another scheme file) whose linked
    consequences reach it."""
    out = []
    for rule, _ in spec.linked_from:
        label = f" ({rule.label})" if rule.label != rule.key else ""
        out.append(f"fixed input: the linked consequence {rule.key!r}{label} comes from the "
                   f"nominal result of {rule.where_from()} for {period}; only the design of "
                   f"level {spec.level!r} varies — the units it reaches, their deductions and "
                   "grade caps stay as published")
    return out


class BatchResult:
    """Outcomes of a batch of draws (arrays of shape (d, n)).

    ``total`` and ``outcome`` (consequence bits) are arrays; ``official_rank`` (the rank within
    the official groups, whatever the draw's grouping) and ``group_rank`` (within the draw's own
    groups) are put together on first use. When every draw of the batch ranks within the
    official groups, ``official_sorted`` holds that ranking in sorted order (a
    :class:`~assesskit.engine.ranking.SortedRanks`), so that per-unit counts and sums need no
    array scattered back to the units.
    """

    def __init__(self, total, outcome, official_rank=None, group_rank=None,
                 official_sorted=None):
        self.total, self.outcome = total, outcome
        self._official, self._group, self.official_sorted = (official_rank, group_rank,
                                                             official_sorted)

    @property
    def official_rank(self) -> np.ndarray:
        if self._official is None:
            self._official = self.official_sorted.scatter(self.official_sorted.ranked)
        return self._official

    @property
    def group_rank(self) -> np.ndarray:
        return self.official_rank if self._group is None else self._group


class LevelBatch:
    """A level compiled once to run many designs of it (see the module notes).

    Parameters
    ----------
    scheme : Scheme
    data : Dataset
    period : str
        Canonical period (a year gives the annual result of a quarterly scheme).
    level : str
    normalisations : sequence
        Relative scoring rules (dicts) or None (each leaf keeps its rule).
    groupings : sequence
        ``"official"``, ``"pool"``, units columns, mappings unit id -> group, or
        :class:`~assesskit.engine.design.Regrouping` (groups with their own quota rule).
    missing, aggregation : sequence of mappings
        Group node id -> policy / method, per option (``{}`` keeps the scheme's).
    quota_scales : sequence of mappings
        Consequence key -> quota multiplier, per option.
    quota_rule : str
        How quotas are shared under other groups (:mod:`assesskit.engine.design`).
    describe : callable, optional
        Option indices -> words, for messages about a combination that cannot run (default:
        the options themselves).
    nominal : Evaluation, optional
        ``evaluate(scheme, data, period)`` if the caller has it already (it is not recomputed).
    """

    def __init__(self, scheme: Scheme, data: Dataset, period: str, level: str, *,
                 normalisations=(None,), groupings=(OFFICIAL,), missing=({},),
                 aggregation=({},), quota_scales=({},), quota_rule: str = "proportional",
                 describe=None, nominal=None):
        self.scheme, self.level, self.period = scheme, level, period
        self.options = {"normalisation": list(normalisations), "grouping": list(groupings),
                        "missing": list(missing), "aggregation": list(aggregation),
                        "quota_scale": list(quota_scales)}
        self.quota_rule = quota_rule
        spec = scheme.levels[level]
        refuse_review(scheme, level, "the Monte Carlo over designs")  # no tree to vary (issue 10)
        ev = nominal if nominal is not None else evaluate(scheme, data, period)
        self.nominal = ev
        self.nominal_table = ev.scores[ev.scores["level"] == level].reset_index(drop=True)
        subs = list(ev.sub_results)
        first = ev.sub_results[subs[0]][level]
        self.units = first.units
        self.ids = self.units["unit"].astype(str).tolist()
        self.n = len(self.units)
        for p in subs:
            if not ev.sub_results[p][level].units["unit"].equals(first.units["unit"]):
                raise SchemeError(f"the units of level {level!r} differ between sub-periods "
                                  "(exclude_incomplete); an analysis over designs needs the same "
                                  "units in every sub-period", key=f"levels.{level}.units")
        self.models = level_models(spec, data, ev, subs, self.units)
        self.fixed_inputs = fixed_inputs(spec, period)  # linked consequences (issue 10)
        self.tree = self.models[0].tree
        combine = scheme.spec.get("combine", {}) or {}
        cw = np.asarray((combine.get("weights") or [1.0] * len(subs)) if len(subs) > 1 else [1.0],
                        float)
        self.mix = cw / cw.sum()
        # variant schemes: one per (normalisation, grouping) for scoring, then per key
        self._leaf: dict = {}
        self._plans: dict = {}
        self._decisions: dict = {}
        self._groupings: dict = {}
        self._vetoed = None
        for gi, ni in product(range(len(groupings)), range(len(normalisations))):
            vspec, grouping, units = self._variant(ni, gi)
            self._leaf[(ni, gi)] = [m.scores(vspec, grouping) for m in self.models]
            if self._vetoed is None:
                self._vetoed = np.logical_or.reduce([ls.vetoed for ls in self._leaf[(ni, gi)]])
            for mi, ai in product(range(len(missing)), range(len(aggregation))):
                key = (ni, gi, mi, ai)
                pspec, _, _ = self._variant(*key)
                try:
                    self._plans[key] = [m.plan(ls, pspec, grouping) for m, ls in
                                        zip(self.models, self._leaf[(ni, gi)], strict=True)]
                except (SchemeError, DataError) as err:  # say which combination cannot run
                    words = describe(key) if describe else str(self.design((*key, 0)))
                    raise type(err)(f"{err} (under {words})") from None
        for gi, qi in product(range(len(groupings)), range(len(quota_scales))):
            qspec, grouping, units = self._variant(0, gi, quota=qi)
            self._groupings[gi] = grouping
            self._decisions[(gi, qi)] = LevelDecisions(
                qspec, self.ids, pd.Series(grouping.group) if grouping.group is not None else None,
                pd.Series(grouping.subgroup) if grouping.subgroup is not None else None,
                self.tree.index, grade_cap=self.models[0].grade_cap)  # linked (issue 10)
        official = grouping_for(self.units, spec.ranking)
        self.official_groups = official.groups()
        self.official_index = next((gi for gi, g in enumerate(groupings)
                                    if Design(grouping=g).is_official_grouping(
                                        scheme, level, self.units)),
                                   None)
        rules = self._decisions[(0, 0)]
        self.consequences = list(rules.keys)
        self.labels = list(rules.labels)
        self.break_by = rules.break_by
        self.tie_method, self.decimals = rules.tie_method, rules.decimals
        self.unit_order = rules.unit_order
        self.bits = rules.bits

    # ------------------------------------------------------------------ designs
    def design(self, key, multipliers: dict | None = None) -> Design:
        """The :class:`Design` of option indices ``key`` (normalisation, grouping, missing,
        aggregation, quota) and weight multipliers ``{node id: multiplier}``."""
        ni, gi, mi, ai, qi = key
        o = self.options
        return Design(normalisation=o["normalisation"][ni], grouping=o["grouping"][gi],
                      quota_rule=self.quota_rule, quota_scale=dict(o["quota_scale"][qi]),
                      missing=dict(o["missing"][mi]), aggregation=dict(o["aggregation"][ai]),
                      weights=dict(multipliers or {}))

    def scheme_for(self, key, multipliers: dict | None = None, note: str = "") -> Scheme:
        """The scheme of one draw: ``evaluate`` of it reproduces the draw."""
        return apply_design(self.scheme, self.level, self.units, self.design(key, multipliers),
                            note=note)

    def _variant(self, ni, gi, mi=0, ai=0, quota=0):
        design = self.design((ni, gi, mi, ai, quota))
        vscheme = apply_design(self.scheme, self.level, self.units, design)
        vspec = vscheme.levels[self.level]
        units = with_scheme_groups(self.units, vspec)
        return vspec, grouping_for(units, vspec.ranking), units

    # ------------------------------------------------------------------ groups and quotas
    def group_labels(self, grouping: int) -> np.ndarray | None:
        """Group label of each unit under grouping option ``grouping`` (None: one pool)."""
        return self._groupings[grouping].group

    def quota_table(self, grouping: int, quota: int = 0) -> pd.DataFrame:
        """The quotas applied under grouping option ``grouping`` (and quota option ``quota``).

        Returns
        -------
        pandas.DataFrame
            One row per consequence side and quota row: ``consequence``, ``label``, ``side``
            (``top`` / ``bottom``), ``group`` (``""`` for the pool), ``subgroup`` (``""`` for a
            whole group), ``units`` (its size) and ``quota``.
        """
        rules = self._decisions[(grouping, quota)]
        rows = []
        for side in rules.sides:
            sizes = np.bincount(side.rows[side.rows >= 0], minlength=len(side.table))
            for r, row in enumerate(side.table):
                rows.append({"consequence": row.key, "label": rules.labels[side.consequence],
                             "side": row.side, "group": row.group,
                             "subgroup": row.subgroup or "", "units": int(sizes[r]),
                             "quota": int(side.quota[r])})
        return pd.DataFrame(rows, columns=["consequence", "label", "side", "group", "subgroup",
                                           "units", "quota"])

    # ------------------------------------------------------------------ runs
    @property
    def vetoed(self) -> np.ndarray:
        """Units vetoed in the period (in any sub-period)."""
        return self._vetoed

    def totals(self, key4, multipliers: np.ndarray | None) -> tuple[np.ndarray, list]:
        """Totals (d, n) and tie-break node scores of draws sharing the discrete options
        ``key4`` = (normalisation, grouping, missing, aggregation)."""
        gi = key4[1]
        impute = self._groupings[gi].scoring_index("group") if gi in self._groupings else None
        parts = []
        for model, plan, leaf in zip(self.models, self._plans[key4], self._leaf[key4[:2]],
                                     strict=True):
            values = aggregate(plan, multipliers, impute=impute,
                               keep=[*self.break_by, *model.coefficient_keep])
            d = values[0].shape[0]
            total = model.totals(values[0], leaf.vetoed,
                                 model.part_points(plan, values, multipliers))
            tbs = [values[j] if j in values else np.broadcast_to(plan.scores[:, j], (d, self.n))
                   for j in self.break_by]
            parts.append((total, tbs))
        if len(parts) == 1:
            return parts[0]
        total = sum(w * t for w, (t, _) in zip(self.mix, parts, strict=True))
        tbs = [sum(w * tb[i] for w, (_, tb) in zip(self.mix, parts, strict=True))
               for i in range(len(self.break_by))]
        return total, tbs

    def run(self, keys: np.ndarray, multipliers: np.ndarray | None = None,
            run_offset: int = 0) -> BatchResult:
        """Totals, ranks and consequences of ``d`` draws.

        Parameters
        ----------
        keys : ndarray of int, shape (d, 5)
            Option indices of each draw: normalisation, grouping, missing, aggregation, quota.
        multipliers : ndarray, shape (d, N), optional
            Weight multiplier of every node in every draw (default 1).
        run_offset : int
            Number of the first draw (for messages).
        """
        with threadpool_limits(limits=1, user_api="blas"):
            return self._run(np.asarray(keys, np.int64), multipliers, run_offset)

    def _run(self, keys: np.ndarray, multipliers, run_offset: int) -> BatchResult:
        # The matrix products here are thin (draws x children times children x units): memory
        # bound, and slower with several BLAS threads than with one, by several times on a
        # loaded 2-core machine; the caller parallelises over chunks instead (Dask).
        d, n = len(keys), self.n
        m = np.ones((d, self.tree.size)) if multipliers is None else np.asarray(multipliers, float)
        total = np.empty((d, n))
        tb = [np.empty((d, n)) for _ in self.break_by]
        uniq, inverse = np.unique(keys[:, :4], axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for u, key4 in enumerate(map(tuple, uniq.tolist())):
            rows = np.flatnonzero(inverse == u)
            t, b = self.totals(key4, m[rows])
            total[rows] = t
            for arr, val in zip(tb, b, strict=True):
                arr[rows] = val
        pairs, inverse = np.unique(keys[:, [1, 4]], axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        if len(pairs) == 1:  # one grouping and one quota for the whole batch: no assembling
            gi, qi = pairs[0].tolist()
            dec = self._decisions[(gi, qi)].decide(total, tb, self.vetoed, run_offset,
                                                   display=False)
            if gi == self.official_index:
                if dec.sorted is not None:
                    return BatchResult(total, dec.outcome, official_sorted=dec.sorted)
                return BatchResult(total, dec.outcome, dec.group_rank)
            return BatchResult(total, dec.outcome, self._official_ranks(total, tb),
                               dec.group_rank)
        rules0 = self._decisions[(0, 0)]
        outcome = np.zeros((d, n), rules0.bits)
        official_rank = np.empty((d, n))
        group_rank = np.empty((d, n))
        for u, (gi, qi) in enumerate(pairs.tolist()):
            rows = np.flatnonzero(inverse == u)
            dec = self._decisions[(gi, qi)].decide(total[rows], [x[rows] for x in tb],
                                                   self.vetoed, run_offset + int(rows[0]),
                                                   display=False)
            outcome[rows] = dec.outcome
            group_rank[rows] = dec.group_rank
            official_rank[rows] = dec.group_rank if gi == self.official_index else \
                self._official_ranks(total[rows], [x[rows] for x in tb])
        return BatchResult(total, outcome, official_rank, group_rank)

    def _official_ranks(self, total, tb) -> np.ndarray:
        """Ranks within the official groups (for draws grouped otherwise)."""
        ks = [score_keys(total, self.decimals)] + [score_keys(x, self.decimals) for x in tb]
        return ranks_within(ks, self.official_groups, self.tie_method, self.unit_order)


# ---------------------------------------------------------------------- other raw values
class _CachedScorer(Scorer):
    """A :class:`~assesskit.engine.level.Scorer` that reads each indicator's values of a period
    once (a growth rule reads the previous period's values every time it scores)."""

    def __init__(self, *args):
        super().__init__(*args)
        self._cache: dict = {}

    def values(self, indicator: str, period: str, key: str) -> np.ndarray:
        if (indicator, period) not in self._cache:
            self._cache[(indicator, period)] = super().values(indicator, period, key)
        return self._cache[(indicator, period)]


@dataclass
class ValueResult:
    """Outcomes of draws in which raw values were changed (arrays of shape (d, n)).

    ``keys`` are the ranking keys (the rounded total, then the tie-break nodes) that decide
    places; two units of a group with equal keys share a place (unless ``ties.method: first``).
    """

    total: np.ndarray
    outcome: np.ndarray  # consequence bits
    group_rank: np.ndarray
    grade: np.ndarray | None  # grade number (0 = best, -1 none)
    vetoed: np.ndarray
    keys: list


class ValueBatch:
    """A level compiled once to evaluate many draws in which some raw values are changed.

    Each draw changes the values of one unit: ``delta[k, l]`` is added to that unit's value of
    leaf ``leaves[l]`` (the indicator's own value; for a growth rule the value of the period, so
    the change since the previous period moves with it). Everything else — the other units'
    values, roll-ups, shared indicators, deductions, coefficients — keeps its nominal value, and
    every draw goes through the kernels ``evaluate`` uses: the leaves are scored again with the
    same rules and comparison groups (a unit passing its group's maximum moves the min–max scale
    of every unit of the group), aggregated (:func:`~assesskit.engine.tree.aggregate`), totalled
    (:meth:`~assesskit.engine.level.LevelModel.totals`, a veto recomputed from the changed
    values), combined over the sub-periods of a quarterly (monthly) scheme with the scheme's
    ``combine`` weights, and ranked with the level's quota, grade and tie rules
    (:meth:`~assesskit.engine.consequences.LevelDecisions.decide`).

    Parameters
    ----------
    scheme : Scheme
    data : Dataset
    period : str
        Canonical period (a year gives the annual result of a quarterly scheme).
    level : str
    evaluation : Evaluation, optional
        ``evaluate(scheme, data, period)``, if already computed.

    Attributes
    ----------
    leaves : list of int
        Tree node index of each leaf (column ``l`` of ``delta``).
    values : ndarray (S, n, L)
        The leaves' own raw values per sub-period (NaN where not reported).
    applies : ndarray of bool (n, L)
        Whether each leaf concerns each unit.
    directions : list of str
        ``higher`` or ``lower`` per leaf.
    sub_periods : list of str
    decisions : LevelDecisions
        The level's ranking, quota and grade rules.
    """

    def __init__(self, scheme: Scheme, data: Dataset, period: str, level: str, *,
                 evaluation=None):
        from .evaluation import level_decisions

        spec = scheme.levels[level]
        ev = evaluation if evaluation is not None else evaluate(scheme, data, period)
        self.scheme, self.level, self.period, self.evaluation = scheme, level, period, ev
        self.sub_periods = list(ev.sub_results)
        first = ev.sub_results[self.sub_periods[0]][level]
        self.units = first.units
        self.ids = self.units["unit"].astype(str).tolist()
        self.n = len(self.units)
        for p in self.sub_periods:
            if not ev.sub_results[p][level].units["unit"].equals(first.units["unit"]):
                raise SchemeError(f"the units of level {level!r} differ between sub-periods "
                                  "(exclude_incomplete); changing values needs the same units in "
                                  "every sub-period", key=f"levels.{level}.units")
        self.models = level_models(spec, data, ev, self.sub_periods, self.units)
        self.tree = self.models[0].tree
        self.leaves = [j for j, nd in enumerate(self.tree.nodes) if nd.kind == "leaf"]
        self.nodes = [self.tree.nodes[j] for j in self.leaves]
        self.grouping = grouping_for(self.units, spec.ranking)
        self._impute = self.grouping.scoring_index("group")
        self._scorers = [_CachedScorer(data, self.units, m.positions, p, self.grouping)
                         for m, p in zip(self.models, self.sub_periods, strict=True)]
        self.directions = [self._scorers[0].direction(nd) for nd in self.nodes]
        self.applies = self.models[0].applies[:, self.leaves]
        self.values = np.stack([np.column_stack(
            [sc.values(nd.indicator, p, f"{nd.path}.indicator") for nd in self.nodes])
            if self.nodes else np.zeros((self.n, 0))
            for sc, p in zip(self._scorers, self.sub_periods, strict=True)])
        self._leaf_scores, self._veto = [], []
        for model, scorer in zip(self.models, self._scorers, strict=True):
            self._leaf_scores.append(model.scores())
            self._veto.append(np.column_stack(
                [scorer.score(nd)[2] & self.applies[:, li] for li, nd in enumerate(self.nodes)])
                if self.nodes else np.zeros((self.n, 0), bool))
        self._scores = [leaf.scores for leaf in self._leaf_scores]
        self._plans: dict = {}  # (sub-period, leaves changed) -> aggregation plan
        combine = scheme.spec.get("combine", {}) or {}
        subs = self.sub_periods
        cw = np.asarray((combine.get("weights") or [1.0] * len(subs)) if len(subs) > 1 else [1.0],
                        float)
        self.mix = cw / cw.sum()
        self.decisions = level_decisions(spec, ev.level_results[level])

    def _delta(self, unit, delta) -> tuple[np.ndarray, np.ndarray]:
        unit = np.asarray(unit, np.intp).reshape(-1)
        delta = np.asarray(delta, float)
        if delta.ndim == 2:
            delta = np.broadcast_to(delta[:, None, :], (len(delta), len(self.models),
                                                        len(self.leaves)))
        if delta.shape != (len(unit), len(self.models), len(self.leaves)):
            raise ValueError(f"delta must have shape (d, {len(self.leaves)}) or (d, "
                             f"{len(self.models)}, {len(self.leaves)}), not {delta.shape}")
        return unit, delta

    def _changed(self, s: int, li: int, unit: np.ndarray, delta: np.ndarray):
        """Rows whose value of leaf ``l`` changes in sub-period ``s``, and their (rows, n)
        values."""
        rows = np.flatnonzero(delta[:, s, li] != 0)
        x = np.repeat(self.values[s][None, :, li], len(rows), axis=0)
        x[np.arange(len(rows)), unit[rows]] += delta[rows, s, li]
        return rows, x

    def own_scores(self, unit, delta) -> np.ndarray:
        """Score (0–100) of every leaf of the changed unit itself, (d, L), combined over the
        sub-periods with the ``combine`` weights (only the scoring step is run)."""
        unit, delta = self._delta(unit, delta)
        d, L = len(unit), len(self.leaves)
        out = np.zeros((d, L))
        for s, scorer in enumerate(self._scorers):
            for li, nd in enumerate(self.nodes):
                own = np.broadcast_to(self._scores[s][unit, self.leaves[li]], (d,)).copy()
                rows, x = self._changed(s, li, unit, delta)
                if len(rows):
                    own[rows] = scorer.score(nd, x)[0][np.arange(len(rows)), unit[rows]]
                out[:, li] += self.mix[s] * np.where(self.applies[unit, li], own, np.nan)
        return out

    def _plan(self, s: int, changed: tuple):
        """The aggregation plan of sub-period ``s`` with the leaves ``changed`` dynamic (the
        other leaves enter through one matrix product, as in ``evaluate``)."""
        key = (s, changed)
        if key not in self._plans:
            dynamic = frozenset(self.leaves[li] for li in changed)
            self._plans[key] = self.models[s].plan(self._leaf_scores[s], dynamic=dynamic)
        return self._plans[key]

    def run(self, unit, delta) -> ValueResult:
        """Totals, ranks, grades and consequences of ``d`` draws.

        Parameters
        ----------
        unit : array of int, shape (d,)
            Position of the unit whose values change in each draw.
        delta : ndarray, shape (d, L) or (d, S, L)
            Change of each leaf's raw value (added; the same in every sub-period when 2-D).

        Returns
        -------
        ValueResult
        """
        unit, delta = self._delta(unit, delta)
        d, n, N = len(unit), self.n, self.tree.size
        dec = self.decisions
        total = np.zeros((d, n))
        tiebreak = [np.zeros((d, n)) for _ in dec.break_by]
        vetoed_any = np.zeros((d, n), bool)
        # draws that change the same leaves share a plan: only those leaves are scored per draw
        touched = (delta != 0).any(axis=1)
        code = touched @ (1 << np.arange(touched.shape[1], dtype=object)) if touched.shape[1] > 62 \
            else touched.astype(np.int64) @ (np.int64(1) << np.arange(touched.shape[1],
                                                                       dtype=np.int64))
        patterns, first, which = np.unique(code, return_index=True, return_inverse=True)
        which = which.reshape(-1)
        if len(patterns) > len(self.leaves) + 1 or d * n < 20_000:
            # many different sets (combined changes), or few draws (where one pass costs less
            # than one per set): score every leaf changed by any draw
            patterns, first, which = patterns[:1], first[:1], np.zeros(d, np.intp)
            touched = np.broadcast_to(touched.any(axis=0), touched.shape)
        for pattern_index in range(len(patterns)):
            rows = np.flatnonzero(which == pattern_index)
            changed = tuple(np.flatnonzero(touched[first[pattern_index]]).tolist())
            u, dl, m = unit[rows], delta[rows], len(rows)
            ones = np.ones((m, N))
            for s, (model, scorer) in enumerate(zip(self.models, self._scorers, strict=True)):
                plan = self._plan(s, changed)
                still = [li for li in range(len(self.leaves)) if li not in changed]
                vetoed = np.broadcast_to(self._veto[s][:, still].any(axis=1), (m, n)).copy()
                dynamic = {}
                for li in changed:
                    x = np.repeat(self.values[s][None, :, li], m, axis=0)
                    x[np.arange(m), u] += dl[:, s, li]
                    new, _, new_veto = scorer.score(self.nodes[li], x)
                    dynamic[self.leaves[li]] = np.where(self.applies[:, li], new, np.nan)
                    vetoed |= new_veto & self.applies[:, li]
                values = aggregate(plan, ones, dynamic_scores=dynamic, impute=self._impute,
                                   keep=[*dec.break_by, *model.coefficient_keep])
                # a coefficient on one node (coefficient.node) needs that node's points
                part = model.part_points(plan, values, dynamic_scores=dynamic)
                # the veto score where vetoed: the engine's totals of everyone vetoed and of none
                plain = model.totals(values[0], np.zeros(n, bool), part)
                if vetoed.any():
                    plain = np.where(vetoed, model.totals(values[0], np.ones(n, bool), part),
                                     plain)
                total[rows] += self.mix[s] * plain
                for i, j in enumerate(dec.break_by):
                    tb = values[j] if j in values else plan.scores[None, :, j]
                    tiebreak[i][rows] += self.mix[s] * tb
                vetoed_any[rows] |= vetoed
        result = dec.decide(total, tiebreak, vetoed_any, display=False)
        return ValueResult(total, result.outcome, result.group_rank, result.grade, vetoed_any,
                           dec.ranking_keys(total, tiebreak))
