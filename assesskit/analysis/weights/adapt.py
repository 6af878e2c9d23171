"""Weighting methods adapted to the node they are applied at (方法适配).

A data-driven weighting method is written for a matrix of units × indicators with enough columns,
non-negative values and no gaps. A scheme's node does not always offer that: a node with two
children, growth rates below zero, counts where lower is better (negated, so all values are
negative), children that apply to named units only, an indicator every unit scores alike. Each
such case is handled here by a **documented rule**, or the method is **skipped with a reason**
the notebook and the command line print; nothing crashes and nothing is changed silently.

====================  ========================================================================
function              rule
====================  ========================================================================
:func:`bod_share_bounds`  benefit-of-the-doubt share bounds that scale with ``1/m`` for ``m``
                      children: ``(0.5/m, min(1, 2/m))``, i.e. each indicator makes up between half
                      and twice its equal share of a unit's score (5–20% for ten indicators)
:func:`shift_nonnegative`  a column with a negative value is shifted so that its minimum is 0
                      (``x - min x``: the distance above the worst unit), as BoD is a ratio model
:func:`bod_adapted`   BoD with both rules, units with a gap left out and named, constant columns
                      left out (they carry no information) and the run skipped with a reason
                      when fewer than two indicators or two units remain
:func:`choose_node`   the level and node a comparison of weights uses by default
:func:`variants`      every method at one node: the variant schemes, and the methods that could
                      not be applied with the reason; children that apply to named units only
                      keep their official weights (see :func:`assesskit.analysis.weights.apply`)
====================  ========================================================================
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from ...errors import AssessKitError
from .methods import BodResult, bod

__all__ = [
    "BOD_SHARE_LOWER",
    "BOD_SHARE_UPPER",
    "BodRun",
    "WeightVariants",
    "bod_adapted",
    "bod_share_bounds",
    "choose_node",
    "shift_nonnegative",
    "variants",
]

#: Lower share bound of benefit of the doubt, as a multiple of the equal share ``1/m``.
BOD_SHARE_LOWER = 0.5
#: Upper share bound of benefit of the doubt, as a multiple of the equal share ``1/m``.
BOD_SHARE_UPPER = 2.0


def bod_share_bounds(n_indicators: int, lower: float = BOD_SHARE_LOWER,
                     upper: float = BOD_SHARE_UPPER) -> tuple[float, float]:
    """Share bounds for benefit of the doubt that fit the number of indicators.

    Fixed bounds such as 5–20% cannot be met with fewer than five indicators (the upper bounds
    would sum to less than 1). Bounds that are multiples of the equal share ``1/m`` can always
    be met, whatever ``m``.

    Parameters
    ----------
    n_indicators : int
        Number of indicators ``m`` (columns of the BoD matrix), at least 2.
    lower, upper : float
        Multiples of ``1/m``; ``0 <= lower <= 1 <= upper``.

    Returns
    -------
    (float, float)
        ``(lower / m, min(1, upper / m))``.

    Raises
    ------
    ValueError
        If ``m < 2`` or the multiples are out of range.

    Notes
    -----
    Every indicator makes up between ``lower`` and ``upper`` times its equal share of a unit's
    score. The bounds are feasible for every ``m >= 2``: the lower bounds sum to
    ``lower <= 1`` and the upper bounds to ``min(m, upper) >= 1``.

    Examples
    --------
    >>> bod_share_bounds(10)
    (0.05, 0.2)
    >>> bod_share_bounds(4)
    (0.125, 0.5)
    >>> bod_share_bounds(2)
    (0.25, 1.0)
    """
    m = int(n_indicators)
    if m < 2:
        raise ValueError(f"share bounds need at least 2 indicators, got {m}")
    if not (0 <= lower <= 1 <= upper):
        raise ValueError(f"need 0 <= lower <= 1 <= upper, got lower={lower}, upper={upper}")
    return (lower / m, min(1.0, upper / m))


def shift_nonnegative(X: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Shift every column that has a negative value so that its minimum becomes 0.

    Parameters
    ----------
    X : DataFrame
        Units × indicators, higher is better (as :func:`assesskit.analysis.weights.node_matrix`
        gives them: a lower-is-better indicator is negated). Missing values stay missing.

    Returns
    -------
    (DataFrame, dict)
        The shifted matrix and ``{column: amount added}`` for the columns shifted.

    Notes
    -----
    ``x' = x - min(x)`` for a column with ``min(x) < 0``; other columns are unchanged. The
    shifted value is the distance above the worst unit, so the ranking on the column is kept.
    Benefit of the doubt is not translation invariant: the rule is stated wherever a result
    uses it.

    Examples
    --------
    >>> X = pd.DataFrame({"growth": [2.0, 1.0, -2.0, -1.0], "level": [1.0, 3.0, 4.0, 2.0]})
    >>> shifted, amounts = shift_nonnegative(X)
    >>> shifted["growth"].tolist(), amounts
    ([4.0, 3.0, 0.0, 1.0], {'growth': 2.0})
    """
    out = X.astype(float).copy()
    amounts = {}
    for col in out.columns:
        low = out[col].min(skipna=True)
        if pd.notna(low) and low < 0:
            out[col] = out[col] - low
            amounts[col] = float(-low)
    return out, amounts


@dataclass
class BodRun:
    """Result of :func:`bod_adapted`: the BoD result (or why there is none) and every rule used.

    Attributes
    ----------
    result : BodResult or None
        ``None`` when the run was skipped.
    matrix : DataFrame
        The matrix BoD saw (after leaving out units and columns and shifting).
    bounds : (float, float) or None
        Share bounds applied to every indicator; ``None`` for the unrestricted model.
    left_out : list
        Units left out because a value is missing.
    shifted : dict
        ``{column: amount added}`` by :func:`shift_nonnegative`.
    constant : list
        Columns left out because every unit has the same value.
    skipped : str
        Why BoD was not run ("" when it was).
    """

    result: BodResult | None
    matrix: pd.DataFrame
    bounds: tuple | None
    left_out: list = field(default_factory=list)
    shifted: dict = field(default_factory=dict)
    constant: list = field(default_factory=list)
    skipped: str = ""

    @property
    def notes(self) -> list[str]:
        """One sentence per rule that changed the input (empty when none did)."""
        notes = []
        if self.left_out:
            notes.append(f"{len(self.left_out)} unit(s) left out for a value not reported: "
                         + ", ".join(map(str, self.left_out)))
        if self.constant:
            notes.append("left out as every unit has the same value: "
                         + ", ".join(map(str, self.constant)))
        if self.shifted:
            notes.append("shifted so that the lowest value is 0 (BoD needs non-negative values): "
                         + ", ".join(f"{c} (+{v:.4g})" for c, v in self.shifted.items()))
        return notes

    @property
    def n_best(self) -> int:
        """Units scoring 1 (on the best-practice frontier); 0 when skipped."""
        if self.result is None:
            return 0
        return int((self.result.scores > 1 - 1e-9).sum())

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: score and shares (empty when skipped)."""
        if self.result is None:
            return pd.DataFrame(columns=["score"])
        return self.result.to_frame()


def bod_adapted(X: pd.DataFrame, bounds="scaled") -> BodRun:
    """Benefit of the doubt on a node's matrix, adapted to what the matrix allows.

    Parameters
    ----------
    X : DataFrame
        Units × indicators, higher is better (e.g. :func:`assesskit.analysis.weights
        .node_matrix`); may hold missing and negative values.
    bounds : "scaled", None or (lo, hi)
        ``"scaled"`` (default): :func:`bod_share_bounds` for the number of indicators kept;
        ``None``: no restriction; a pair: those share bounds for every indicator (the run is
        skipped with the reason when they cannot be met for the number of indicators).

    Returns
    -------
    BodRun
        The result, or ``skipped`` with the reason; :attr:`BodRun.notes` lists each rule used.

    Notes
    -----
    In order: units with a missing value are left out (BoD needs complete rows); columns on which
    every remaining unit has the same value are left out (they carry no information, and a column
    of zeros would make the weight undetermined); columns with a negative value are shifted by
    :func:`shift_nonnegative`. BoD is skipped when fewer than 2 indicators or 2 units remain.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 3.0, 4.0, 2.0], "b": [4.0, 3.0, 1.0, 1.0]},
    ...                  index=["A", "B", "C", "D"])
    >>> run = bod_adapted(X)           # two indicators: shares between 25% and 100%
    >>> run.bounds, run.result.scores.round(4).tolist()
    ((0.25, 1.0), [0.7619, 1.0, 0.7619, 0.5333])
    """
    complete = X.dropna()
    left_out = [u for u in X.index if u not in complete.index]
    span = complete.max() - complete.min() if len(complete) else pd.Series(0.0, X.columns)
    constant = [c for c in X.columns if not span[c] > 0]
    kept = complete[[c for c in X.columns if c not in constant]]
    shifted, amounts = shift_nonnegative(kept)
    run = BodRun(None, shifted, None, left_out, amounts, constant)
    if shifted.shape[1] < 2:
        run.skipped = (f"benefit of the doubt needs at least 2 indicators that vary; this node "
                       f"has {shifted.shape[1]}")
        return run
    if shifted.shape[0] < 2:
        run.skipped = (f"benefit of the doubt needs at least 2 units with complete data; "
                       f"{shifted.shape[0]} remain")
        return run
    if isinstance(bounds, str):
        if bounds != "scaled":
            raise ValueError(f"bounds must be 'scaled', None or a (lo, hi) pair, not {bounds!r}")
        bounds = bod_share_bounds(shifted.shape[1])
    elif bounds is not None:
        lo, hi = (float(b) for b in bounds)
        m = shifted.shape[1]
        if lo * m > 1 + 1e-9 or hi * m < 1 - 1e-9:
            run.skipped = (f"share bounds {lo:g}–{hi:g} cannot be met with {m} indicators (the "
                           f"shares must sum to 1); use bounds='scaled'")
            return run
        bounds = (lo, hi)
    run.bounds = bounds
    run.result = bod(shifted, bounds)
    return run


# ------------------------------------------------------------------------ methods at a node
def _eligible(node) -> list:
    """The children of ``node`` that apply to every unit."""
    return [c for c in node.children if not c.conditional]


def choose_node(scheme, level: str | None = None, node: str | None = None) -> tuple[str, str]:
    """The level and node a comparison of weighting methods uses when they are not given.

    Parameters
    ----------
    scheme : Scheme or str
    level : str, optional
        Default: the first level (in the scheme's order) with a consequence (a praise or summons
        list, a grade) and a node that can be re-weighted (that has ``node``, if given); else
        the first such level.
    node : str, optional
        Default: the node of ``level`` with the most children that apply to every unit (at
        least 2); ties go to the first in the tree.

    Returns
    -------
    (str, str)
        ``(level, node)``.

    Raises
    ------
    SchemeError
        Unknown level or node, or no node with two children that apply to every unit.
    """
    from ...errors import SchemeError
    from ...scheme.model import Scheme, load_scheme

    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)

    def best(lv):
        nodes = [nd for nd in scheme.levels[lv].root.walk() if len(_eligible(nd)) >= 2]
        return max(nodes, key=lambda nd: len(_eligible(nd)), default=None)

    if level is None and node is not None:
        having = [lv for lv in scheme.levels
                  if str(node) in {nd.id for nd in scheme.levels[lv].root.walk()}]
        level = next((lv for lv in having if scheme.levels[lv].consequences
                      or scheme.levels[lv].grades), having[0] if having else None)
        if level is None:
            raise SchemeError(f"no level of scheme {scheme.name!r} has a node {node!r}",
                              key="levels")
    if level is None:
        candidates = [lv for lv in scheme.levels if best(lv) is not None]
        with_lists = [lv for lv in candidates if scheme.levels[lv].consequences
                      or scheme.levels[lv].grades]
        if not candidates:
            raise SchemeError(f"no level of scheme {scheme.name!r} has a node with two children "
                              "that apply to every unit, so no weights can be derived",
                              key="levels")
        level = (with_lists or candidates)[0]
    if level not in scheme.levels:
        raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; levels: "
                          f"{list(scheme.levels)}", key="levels")
    if node is None:
        found = best(level)
        if found is None:
            raise SchemeError(f"level {level!r} of scheme {scheme.name!r} has no node with two "
                              "children that apply to every unit; choose another level",
                              key=f"levels.{level}.tree")
        return level, found.id
    ids = {nd.id for nd in scheme.levels[level].root.walk()}
    if str(node) not in ids:
        raise SchemeError(f"level {level!r} of scheme {scheme.name!r} has no node {node!r}; "
                          f"nodes: {sorted(ids)}", key=f"levels.{level}.tree")
    return level, str(node)


@dataclass
class WeightVariants:
    """Result of :func:`variants`: one scheme per weighting method that could be applied.

    Attributes
    ----------
    level, node : str
        Where the weights were derived.
    schemes : dict
        ``{"official": scheme, method: variant, ...}`` for the methods applied, in order.
    skipped : DataFrame
        ``method``, ``reason``: the methods that could not be applied and why.
    notes : DataFrame
        ``method``, ``note``: what each method derived its weights from (the log note) and any
        rule or warning met on the way (a constant indicator, children kept at their weights).
    """

    level: str
    node: str
    schemes: dict
    skipped: pd.DataFrame
    notes: pd.DataFrame

    @property
    def applied(self) -> list[str]:
        """The methods applied (without ``official``)."""
        return [m for m in self.schemes if m != "official"]

    def summary(self) -> str:
        """A few lines: where, which methods ran, which were skipped and why."""
        lines = [f"weights at node {self.node!r} of level {self.level!r}: "
                 + (", ".join(self.applied) or "no method could be applied")]
        lines += [f"  skipped {r.method}: {r.reason}" for r in self.skipped.itertuples()]
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """``method``, ``status`` (applied / skipped), ``detail`` (note or reason)."""
        applied = pd.DataFrame({"method": self.applied, "status": "applied"})
        applied = applied.merge(self.notes.groupby("method", sort=False)["note"]
                                .agg(" ".join).rename("detail").reset_index(),
                                on="method", how="left")
        skipped = self.skipped.rename(columns={"reason": "detail"}).assign(status="skipped")
        return pd.concat([applied, skipped[["method", "status", "detail"]]],
                         ignore_index=True).fillna("")


def variants(scheme, methods, data, period, level: str | None = None, node: str | None = None,
             *, missing: str = "complete_units") -> WeightVariants:
    """Apply several weighting methods at one node; skip, with the reason, those that cannot.

    Parameters
    ----------
    scheme : Scheme or str
    methods : sequence of str
        Names :func:`assesskit.analysis.weights.apply` accepts.
    data : Dataset
    period : int or str
    level, node : str, optional
        Default: :func:`choose_node`.
    missing : {"complete_units", "error"}
        As :func:`assesskit.analysis.weights.apply`.

    Returns
    -------
    WeightVariants

    Notes
    -----
    A method that raises an assesskit error (bad data for it, e.g. a constant indicator for PCA)
    is skipped with the error's message as the reason; a warning (a constant indicator given
    weight 0 by entropy) becomes a note. Children that apply to named units only keep their
    official weights; the others get the method's weights, scaled to the share they hold
    together officially (``unit_specific="keep"`` of :func:`assesskit.analysis.weights.apply`).
    """
    from ...scheme.model import Scheme, load_scheme
    from .schemes import apply

    scheme = scheme if isinstance(scheme, Scheme) else load_scheme(scheme)
    level, node = choose_node(scheme, level, node)
    schemes, skipped, notes = {"official": scheme}, [], []
    for method in methods:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                variant = apply(scheme, method, data, period, level=level, node=node,
                                missing=missing, unit_specific="keep")
            except AssessKitError as exc:
                skipped.append({"method": method, "reason": _one_line(exc)})
                continue
        schemes[method] = variant
        notes.append({"method": method, "note": variant.log[-1]["note"]})
        notes += [{"method": method, "note": str(w.message)} for w in caught]
    return WeightVariants(level, node, schemes,
                          pd.DataFrame(skipped, columns=["method", "reason"]),
                          pd.DataFrame(notes, columns=["method", "note"]))


def _one_line(exc: Exception) -> str:
    """An error's message on one line (a DataError lists its problems on several)."""
    lines = [ln.strip(" -") for ln in str(exc).strip().splitlines() if ln.strip(" -")]
    return "; ".join(lines) if lines else type(exc).__name__
