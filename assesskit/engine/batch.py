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
from .level import LevelModel, grouping_for, with_scheme_groups
from .ranking import ranks_within, score_keys
from .review import refuse_review
from .tree import aggregate


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
        self.models = [LevelModel(spec, data, p, ev.sub_results[p], units=self.units)
                       for p in subs]
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
            values = aggregate(plan, multipliers, impute=impute, keep=self.break_by)
            d = values[0].shape[0]
            total = model.totals(values[0], leaf.vetoed)
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

