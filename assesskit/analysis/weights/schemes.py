"""Weights in a scheme (方案权重): official, node_matrix, apply, effective.

These bind the pure methods of :mod:`assesskit.analysis.weights.methods` to a scheme: the
weights printed in it, the matrix a method sees at one node, a variant scheme with derived
weights, and how much each indicator really drives the final score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...engine.evaluation import Evaluation, evaluate
from ...errors import DataError, Problem, SchemeError
from ...scheme.model import Scheme, load_scheme
from .methods import (
    _weights,
    ahp,
    correlation_ratio,
    critic,
    entropy,
    equal,
    normalise_weights,
    pca,
    std,
)

# --------------------------------------------------------------------------------------------
# weights in a scheme: official, node_matrix, apply, effective
# --------------------------------------------------------------------------------------------

#: Data-driven methods :func:`apply` accepts by name (each takes a units × indicators matrix).
APPLY_METHODS = ("equal", "entropy", "critic", "std", "pca", "ahp")

#: How :func:`apply` treats a missing value in the matrix it weights.
APPLY_MISSING = ("error", "complete_units")


def _level_of(scheme, level, node=None) -> str:
    """The level to use: ``level`` if given (checked), else the first level (having ``node``)."""

    if level is not None:
        if level not in scheme.levels:
            raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; levels: "
                              f"{list(scheme.levels)}", key="levels")
        return level
    for lv, spec in scheme.levels.items():
        if node is None or any(n.id == node for n in spec.root.walk()):
            return lv
    first, spec = next(iter(scheme.levels.items()))
    raise SchemeError(f"no level of scheme {scheme.name!r} has a node {node!r}; nodes of level "
                      f"{first!r}: {sorted(n.id for n in spec.root.walk())}", key="levels")


def _find_node(scheme, level: str, node: str | None):
    """The node object ``node`` (default the root ``total``) of a level's tree."""

    nodes = {n.id: n for n in scheme.levels[level].root.walk()}
    node = "total" if node is None else str(node)
    if node not in nodes:
        raise SchemeError(f"level {level!r} of scheme {scheme.name!r} has no node {node!r}; "
                          f"nodes: {sorted(nodes)}", key=f"levels.{level}.tree")
    return nodes[node]


def _global_weights(root) -> tuple[dict, list]:
    """Global weight of every node (product of normalised weights from the root) and the ids of
    unit-specific (``applies_to``) nodes, which have weight 0 for a unit they do not name."""
    out = {root.id: 1.0}
    unit_specific = []
    for nd in root.walk():
        general = [c for c in nd.children if c.applies_to is None]
        total = sum(c.weight for c in general)
        for c in nd.children:
            if c.applies_to is not None:
                unit_specific.append(c.id)
                out[c.id] = 0.0
            else:
                out[c.id] = out[nd.id] * (c.weight / total if total > 0 else 0.0)
    return out, unit_specific


def official(scheme, level: str | None = None, node: str | None = None) -> pd.Series:
    """Official (nominal) weights printed in a scheme (方案权重).

    Parameters
    ----------
    scheme : Scheme or str
        A :class:`~assesskit.scheme.Scheme` or a built-in scheme name.
    level : str, optional
        Assessed level; default the first level of the scheme (the first having ``node``).
    node : str, optional
        ``None`` (default): the **global** weight of every leaf — the product of the normalised
        weights on the path from the root, i.e. the share of the total score the leaf can earn.
        A node id (e.g. ``"task"``, or ``"total"`` for the root): the **local** weights of that
        node's children, normalised to sum to 1.

    Returns
    -------
    Series
        Indexed by node id (index name ``"node"``; for a leaf the node id is usually the indicator
        code), named ``"weight"``, summing to 1. ``attrs``: ``method`` (``"official"``),
        ``params`` (level, node), ``scheme``, ``unit_specific`` (nodes that apply to named units
        only, left out: their weight for any other unit is 0) and ``overrides`` (units whose
        weights the scheme sets differently; not reflected here).

    Raises
    ------
    SchemeError
        Unknown level or node, or a node without children.

    Notes
    -----
    Children of a parent declaring ``normalise_weights`` have relative weights; they are divided
    by their sum. For the Sichuan scheme (task 0.9 with ten equal indicators, responsibility 0.1
    with three) every task leaf has global weight 0.9 / 10 = 0.09 and every responsibility leaf
    0.1 / 3. Leaves also include roll-up and shared nodes (scored from another level).

    Examples
    --------
    >>> official("sichuan-39")["gdp_per_capita"]              # doctest: +SKIP
    0.09
    >>> official("sichuan-39", node="total").tolist()         # doctest: +SKIP
    [0.9, 0.1]
    """

    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    level = _level_of(scheme, level, node)
    spec = scheme.levels[level]
    glob, unit_specific = _global_weights(spec.root)
    if node is None:
        ids = [n.id for n in spec.root.leaves() if n.applies_to is None]
        raw = np.array([glob[i] for i in ids])
    else:
        nd = _find_node(scheme, level, node)
        if not nd.children:
            raise SchemeError(f"node {nd.id!r} has no children to weight; give its parent",
                              key=nd.path)
        kids = [c for c in nd.children if c.applies_to is None]
        ids = [c.id for c in kids]
        raw = np.array([c.weight for c in kids], dtype=float)
        unit_specific = [c.id for c in nd.children if c.applies_to is not None]
    w = _weights(raw, pd.Index(ids, name="node"), "official", {"level": level, "node": node})
    w.index.name = "node"
    w.attrs.update(scheme=scheme.name, unit_specific=unit_specific,
                   overrides=sorted(spec.overrides))
    return w


def node_matrix(scheme, data, period, level: str | None = None, node: str | None = None, *,
                values: str = "raw", unit_specific: str = "error") -> pd.DataFrame:
    """The units × children matrix a weighting method sees at one node of a scheme.

    Parameters
    ----------
    scheme : Scheme or str
    data : Dataset
    period : int or str
        The period the weights are derived from. If the scheme combines sub-periods (a quarterly
        scheme assessed for a year), every (unit, sub-period) is one row.
    level : str, optional
        Default: the first level that has ``node``.
    node : str, optional
        The parent whose children are weighted; default the root ``"total"``.
    values : {"raw", "score"}
        ``"raw"`` (default): a leaf child contributes the indicator value the scheme scores (for a
        ``growth`` rule the change, for ``level_and_change`` the level), **oriented so that higher
        is better** (a "lower is better" indicator is negated, which the min–max normalisation of
        entropy, CRITIC and std and the standardisation of PCA turn back into the same spread).
        ``"score"``: the 0–100 score the scheme gives the leaf (after its own normalisation, e.g.
        min–max within the group). A child that is a group, roll-up or shared node always
        contributes its 0–100 score.
    unit_specific : {"error", "keep"}
        What to do with children that apply to some units only (``applies_to``,
        ``applies_if``): ``"error"`` (default) refuses the node; ``"keep"`` leaves them out of
        the matrix (listed in ``attrs["unit_specific"]``), for a method that weights the other
        children while they keep their official weights (see :func:`apply`).

    Returns
    -------
    DataFrame
        Index: unit ids (``unit`` and ``period`` when there are several sub-periods); columns:
        the child node ids. Missing values stay NaN (see :func:`apply` for the policy).
        ``attrs``: ``level``, ``node``, ``period``, ``values``, ``sources`` (child → what its
        column holds) and ``unit_specific`` (children left out).

    Raises
    ------
    SchemeError
        Unknown level or node, a node without children, a child that applies to named units only
        under ``unit_specific="error"``, fewer than two other children under ``"keep"``, or an
        unknown ``values`` or ``unit_specific``.
    """

    if values not in ("raw", "score"):
        raise SchemeError(f"values must be 'raw' or 'score', not {values!r}")
    if unit_specific not in ("error", "keep"):
        raise SchemeError(f"unit_specific must be 'error' or 'keep', not {unit_specific!r}")
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    level = _level_of(scheme, level, node)
    nd = _find_node(scheme, level, node)
    if not nd.children:
        raise SchemeError(f"node {nd.id!r} is a leaf; weights are set on a node with children "
                          "(its parent)", key=nd.path)
    specific = [c.id for c in nd.children if c.conditional]
    if specific and unit_specific == "error":
        raise SchemeError(f"children {specific} of {nd.id!r} apply to named units only "
                          "(applies_to); data-driven weights need every unit scored on every "
                          "child — weight another node, pass unit_specific='keep' (they keep "
                          "their weights), or drop them from a copy of the scheme",
                          key=nd.path)
    children = [c for c in nd.children if not c.conditional]
    if len(children) < 2:
        raise SchemeError(f"node {nd.id!r} has {len(children)} child(ren) that apply to every "
                          "unit; weights are derived for at least two", key=nd.path)
    ev = evaluate(scheme, data, period, levels=[level])
    directions = data.indicators.set_index("indicator")["direction"].to_dict()
    frames, sources = [], {}
    for p, results in ev.sub_results.items():
        res = results[level]
        col = {n.id: j for j, n in enumerate(res.nodes)}
        cols = {}
        for c in children:
            j = col[c.id]
            if c.kind == "leaf" and values == "raw":
                direction = c.direction or directions.get(c.indicator, "higher")
                x = res.raw[:, j]
                cols[c.id] = -x if direction == "lower" else x
                sources[c.id] = (f"raw value of {c.indicator}"
                                 + (" (negated: lower is better)" if direction == "lower" else ""))
            else:
                cols[c.id] = res.score[:, j]
                sources[c.id] = f"0–100 score of {c.kind} node {c.id}"
        frame = pd.DataFrame(cols, index=pd.Index(res.units["unit"].to_numpy(), name="unit"))
        if len(ev.sub_results) > 1:
            frame.index = pd.MultiIndex.from_arrays(
                [frame.index, np.full(len(frame), p, dtype=object)], names=["unit", "period"])
        frames.append(frame)
    out = pd.concat(frames) if len(frames) > 1 else frames[0]
    out.columns.name = "node"
    out.attrs = {"level": level, "node": nd.id, "period": ev.period, "values": values,
                 "sources": sources, "unit_specific": specific}
    return out


def apply(scheme, method, data, period, level: str | None = None, node: str | None = None, *,
          values: str = "raw", missing: str = "error", unit_specific: str = "error", **kwargs):
    """Derive weights at one node of a scheme with a weighting method; return the new scheme.

    The children of ``node`` are weighted by ``method`` from the data of ``period`` (see
    :func:`node_matrix`), and ``scheme.with_weights`` makes the variant; the scheme's log records
    the change, the method, its parameters and the data it was derived from. Other nodes keep
    their weights.

    Parameters
    ----------
    scheme : Scheme or str
    method : str or callable
        ``"equal"``, ``"entropy"``, ``"critic"``, ``"std"``, ``"pca"`` (computed from the matrix)
        or ``"ahp"`` (from ``pairwise=``, a comparison matrix labelled by the child node ids; the
        data only check the node). A callable takes the matrix (and ``kwargs``) and returns a
        Series of non-negative weights indexed by the child node ids. :func:`bod` gives each unit
        its own weights and cannot be applied to a scheme; call it directly.
    data : Dataset
    period : int or str
    level : str, optional
        Default: the first level having ``node``.
    node : str, optional
        The parent whose children get the new weights; default the root ``"total"``.
    values : {"raw", "score"}
        What the method sees for a leaf child; see :func:`node_matrix`.
    missing : {"error", "complete_units"}
        ``"error"`` (default): a missing value raises a :class:`DataError` listing every unit and
        child concerned. ``"complete_units"``: the weights are derived from the units with a
        value for every child; those left out are named in the log note and in
        ``log[-1]["units_left_out"]`` (they are still assessed with the new weights).
    unit_specific : {"error", "keep"}
        Children that apply to some units only: ``"error"`` (default) refuses the node;
        ``"keep"`` keeps their official weights and gives the method's weights to the other
        children, scaled so that together they keep the share they have officially (the note
        names the children kept).
    **kwargs
        Passed to the method (e.g. ``n_components=2`` for :func:`pca`, ``pairwise=`` for AHP).

    Returns
    -------
    Scheme
        A copy with the children of ``node`` re-weighted (summing to 1). Its last ``log`` entry
        has ``change="with_weights"``, the note ``"<method> weights at node '<node>' ..."``, and
        ``method``, ``params``, ``dataset``, ``period``, ``values``, ``units`` (how many units the
        weights came from) and ``units_left_out``.

    Raises
    ------
    DataError
        Missing values under ``missing="error"``; fewer than two units left; a malformed matrix
        (see the methods).
    SchemeError
        Unknown level, node, method or option; a node whose children apply to named units only.
    ValueError
        A method's result does not cover exactly the children of the node.

    Notes
    -----
    The weights come from the **pooled** matrix of all assessed units of the level (the units
    of every comparison group together), as the weighting literature does, even where the scheme
    scores within groups. Units with per-unit weight overrides keep their overrides (the note
    names them).

    Examples
    --------
    >>> ds = assesskit.datasets.load("sichuan-39")                            # doctest: +SKIP
    >>> s = apply("sichuan-39", "entropy", ds, 2025, node="task")            # doctest: +SKIP
    >>> official(s, node="task").round(3)                                     # doctest: +SKIP
    """

    if missing not in APPLY_MISSING:
        raise SchemeError(f"missing must be one of {APPLY_MISSING}, not {missing!r}")
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    if isinstance(method, str):
        if method == "bod":
            raise SchemeError("bod (benefit of the doubt) gives every unit its own weights, so it "
                              "cannot set one weight per node; call assesskit.analysis.weights.bod(X) on "
                              "node_matrix(...) and read its scores")
        if method not in APPLY_METHODS:
            raise SchemeError(f"unknown weighting method {method!r}; use one of {APPLY_METHODS} "
                              "or a function X -> Series of weights")
        name = method
    elif callable(method):
        name = getattr(method, "__name__", "custom")
    else:
        raise SchemeError(f"method must be a name {APPLY_METHODS} or a callable, not {method!r}")
    level = _level_of(scheme, level, node)
    X = node_matrix(scheme, data, period, level, node, values=values,
                    unit_specific=unit_specific)
    nd_id = X.attrs["node"]
    units = scheme.levels[level]
    left_out: list = []
    bad = X.isna()
    if bad.to_numpy().any():
        if missing == "error":
            names = data.units.set_index("unit")["name"].to_dict()
            rows, cols = np.nonzero(bad.to_numpy())
            problems = [
                Problem(f"unit {_unit_label(X.index[r])} ({names.get(_unit_id(X.index[r]), '')}) "
                        f"has no value for {X.columns[c]!r} in period {X.attrs['period']}, so the "
                        f"{name} weights at node {nd_id!r} cannot be derived; supply it, or pass "
                        "missing='complete_units' to derive them from the complete units",
                        column=str(X.columns[c]))
                for r, c in zip(rows, cols, strict=True)
            ]
            raise DataError(problems, title=f"apply({name!r}): missing values at node {nd_id!r}")
        complete = ~bad.any(axis=1)
        left_out = [_unit_label(u) for u in X.index[~complete]]
        X = X[complete]
    if name == "ahp":
        if "pairwise" not in kwargs:
            raise SchemeError("method 'ahp' needs pairwise= (a comparison matrix labelled by the "
                              f"child node ids {list(X.columns)}; build one with ahp_matrix)")
        w = ahp(kwargs.pop("pairwise"), **kwargs)
    elif isinstance(method, str):
        w = {"equal": equal, "entropy": entropy, "critic": critic, "std": std,
             "pca": pca}[name](X, **kwargs)
    else:
        w = method(X, **kwargs)
    w = _check_node_weights(w, list(X.columns), name, nd_id)
    kept = X.attrs["unit_specific"]
    if kept:
        # the children that apply to every unit share what they hold together officially
        declared = {c.id: c.weight for c in _find_node(scheme, level, nd_id).children}
        attrs = dict(w.attrs)
        w = w * sum(declared[c] for c in X.columns)
        w.attrs = attrs
    n_units = X.index.get_level_values(0).nunique()
    rows = (f"{n_units} units" if X.index.nlevels == 1 else
            f"{n_units} units × {X.index.get_level_values(1).nunique()} sub-periods")
    note = (f"{name} weights at node {nd_id!r} of level {level!r}, derived from {values} values "
            f"of {rows} in period {X.attrs['period']} (dataset {data.name!r})")
    if left_out:
        note += f"; units left out for missing values: {', '.join(left_out)}"
    overridden = sorted(u for u, ov in units.overrides.items()
                        if set(ov.get("weights") or {}) & set(X.columns))
    if kept:
        note += (f"; children that apply to named units only keep their official weights: "
                 f"{', '.join(kept)}")
    if overridden:
        note += f"; units {', '.join(overridden)} keep their own override weights"
    new = scheme.with_weights({c: float(w[c]) for c in X.columns}, level=level, note=note)
    new.log[-1].update(method=name, params=dict(w.attrs.get("params", {})), dataset=data.name,
                       period=X.attrs["period"], node=nd_id, values=values, units=n_units,
                       units_left_out=left_out)
    return new


def _unit_id(u) -> str:
    return str(u[0] if isinstance(u, tuple) else u)


def _unit_label(u) -> str:
    return f"{u[0]} ({u[1]})" if isinstance(u, tuple) else str(u)


def _check_node_weights(w, children: list, name: str, node: str) -> pd.Series:
    """A method's weights: a Series over exactly the node's children, non-negative, sum 1."""
    if not isinstance(w, pd.Series):
        raise ValueError(f"weighting method {name!r} returned a {type(w).__name__}, not a pandas "
                         "Series of weights indexed by the child node ids")
    got = [str(i) for i in w.index]
    if sorted(got) != sorted(children):
        raise ValueError(f"weighting method {name!r} returned weights for {got}, but node "
                         f"{node!r} has the children {children}")
    attrs = dict(w.attrs)
    w = normalise_weights(pd.Series(w.to_numpy(dtype=float), index=got, name="weight"))
    w.attrs = attrs
    return w


def effective(evaluation, level: str | None = None, node: str | None = None) -> pd.DataFrame:
    """Effective weights: how much each indicator really drives the final score (实际权重).

    A nominal weight says how many points an indicator can earn; how much it moves the ranking
    also depends on how much its scores vary and how they correlate with the others. Following
    Paruolo, Saisana & Saltelli (2013), the importance of indicator i is the share of the variance
    of the final score explained by it, the first-order sensitivity index (correlation ratio)
    S_i = η²_i = V[E(y | x_i)] / V(y), estimated across the assessed units.

    Parameters
    ----------
    evaluation : Evaluation
    level : str, optional
        Default: the first level of the evaluation.
    node : str, optional
        ``None`` (default): every leaf. A node id: the children of that node (e.g. ``"total"``
        for the task and responsibility parts).

    Returns
    -------
    DataFrame
        One row per node: level, node, label, indicator, nominal_weight (global, see
        :func:`official`), n (units with a score for it), r2 (Pearson r² of the node's 0–100
        score with the final score), eta2 (correlation ratio, see :func:`correlation_ratio`),
        eta2_method, nominal_share, r2_share, eta2_share (each column divided by its sum over the
        rows, so the three are on the same footing) and ratio (eta2_share / nominal_share: above
        1 the indicator drives the result more than its printed weight says, below 1 less).

    Raises
    ------
    SchemeError
        Unknown level or node.

    Notes
    -----
    y is the unit's final score (after deductions and coefficients), x_i the 0–100 score of node
    i. Pearson r² = corr(x_i, y)² is the linear estimate of S_i; η² also catches non-linear
    dependence (η² ≥ r² in theory). With correlated indicators the S_i do not add up to 1 —
    that is the point: an indicator correlated with the others "speaks for them" — so compare
    shares, not levels. Units lacking a score for node i are left out of its row only (n says
    how many were used). With a few dozen units the estimates are rough; read large gaps, not
    second decimals. Below 20 units η² is the linear r² (a smoother would chase the points).

    References
    ----------
    Paruolo, P., Saisana, M., & Saltelli, A. (2013). Ratings and rankings: voodoo or science?
    *Journal of the Royal Statistical Society A*, 176(3), 609–634.
    Becker, W., Saisana, M., Paruolo, P., & Vandecasteele, I. (2017). Weights and importance in
    composite indicators: closing the gap. *Ecological Indicators*, 80, 12–22.

    Examples
    --------
    >>> effective(ak.evaluate("sichuan-39", ds, 2025))[["node", "nominal_weight", "eta2_share"]]
    ... # doctest: +SKIP
    """

    if not isinstance(evaluation, Evaluation):
        raise TypeError(f"effective() takes an assesskit Evaluation, not {type(evaluation).__name__}")
    scheme = evaluation.scheme
    level = _level_of(scheme, level or next(iter(evaluation.level_results)))
    if level not in evaluation.level_results:
        raise DataError(f"level {level!r} was not evaluated; levels: "
                        f"{list(evaluation.level_results)}")
    res = evaluation.level_results[level]
    glob, _ = _global_weights(scheme.levels[level].root)
    if node is None:
        chosen = [n for n in scheme.levels[level].root.leaves()]
    else:
        chosen = list(_find_node(scheme, level, node).children)
        if not chosen:
            raise DataError(f"node {node!r} has no children")
    col = {n.id: j for j, n in enumerate(res.nodes)}
    y = np.asarray(res.total, dtype=float)
    rows = []
    for nd in chosen:
        x = res.score[:, col[nd.id]]
        ok = np.isfinite(x) & np.isfinite(y)
        xs, ys = x[ok], y[ok]
        if ok.sum() >= 3 and np.ptp(xs) > 0 and np.ptp(ys) > 0:
            r2 = float(np.corrcoef(xs, ys)[0, 1] ** 2)
        else:
            r2 = 0.0 if ok.sum() >= 3 and np.ptp(ys) > 0 else np.nan
        eta2, how = correlation_ratio(xs, ys)
        rows.append({"level": level, "node": nd.id, "label": nd.label or nd.id,
                     "indicator": nd.indicator or "", "nominal_weight": glob[nd.id],
                     "n": int(ok.sum()), "r2": r2, "eta2": eta2, "eta2_method": how})
    out = pd.DataFrame(rows)
    for col_name, share in (("nominal_weight", "nominal_share"), ("r2", "r2_share"),
                            ("eta2", "eta2_share")):
        total = out[col_name].sum()
        out[share] = out[col_name] / total if total > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["eta2_share"] / out["nominal_share"].where(out["nominal_share"] > 0)
    return out


__all__ = ["APPLY_METHODS", "APPLY_MISSING", "apply", "effective", "node_matrix", "official"]
