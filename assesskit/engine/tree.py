"""Tree aggregation: the scores of a scheme's group nodes from their children, over draws.

A level's node tree is compiled into arrays (:class:`Tree`); for given leaf scores, per-unit
weights, applicability, aggregation methods and missing-value policies, an
:class:`AggregationPlan` holds everything that does not change from one draw to the next, and
:func:`aggregate` computes every group node for a batch of draws whose weights are scaled by
per-node multipliers. ``evaluate`` is the case of one draw with all multipliers 1.

Per group node ``p`` and unit ``i``, with ``a_ik`` the weight of child ``k`` if it is *usable*
(it applies to the unit, has a weight and a score — or its missing score was filled by the
node's policy) and 0 otherwise, and ``m_dk`` the multiplier of draw ``d``:

.. math::

    s_{dip} = g\\left(\\frac{\\sum_k a_{ik} m_{dk} f(s_{dik})}{\\sum_k a_{ik} m_{dk}}\\right)

with ``f = g = identity`` (arithmetic mean), ``f = log, g = exp`` (geometric), ``f = 1/x,
g = 1/x`` (harmonic; a child scoring 0 makes the node 0) or the minimum of the usable children.
Dividing by the usable weights is the re-normalisation: the weight of a child that does not
apply to a unit (``applies_to``, ``applies_if``) or whose value is missing under the policy
``renormalise`` is spread over its usable siblings in proportion to their weights.

Missing values (a child that applies to the unit and has a weight but no score) follow the
parent's policy: ``error`` (a :class:`~assesskit.errors.DataError` naming every unit and node),
``renormalise`` (left out, as above), ``impute_group_mean`` (the mean score of that child in the
unit's comparison group), ``zero`` (scored 0). "Does not apply" is never "missing": it is not
logged as a missing value and no policy touches it.

Children whose scores do not change across draws (leaves, roll-ups, shared indicators) enter
through one matrix product per node; group children are combined per draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, Problem, SchemeError
from ..scheme.model import Node
from .scoring import GroupIndex

AGGREGATIONS = ("arithmetic", "geometric", "harmonic", "minimum")


@dataclass(frozen=True)
class Tree:
    """A level's node tree as arrays: nodes in pre-order (the root, ``total``, first).

    Attributes
    ----------
    nodes : list of Node
    ids : list of str
    children : list of ndarray
        Child node indices of each node.
    parent : ndarray of int
        Parent index of each node (-1 for the root).
    depth : ndarray of int
    groups : list of int
        Group nodes (with children), children before parents.
    """

    nodes: list
    ids: list
    children: list
    parent: np.ndarray
    depth: np.ndarray
    groups: list

    @classmethod
    def from_root(cls, root: Node) -> Tree:
        nodes = list(root.walk())
        index = {id(nd): j for j, nd in enumerate(nodes)}
        children = [np.array([index[id(c)] for c in nd.children], dtype=np.intp) for nd in nodes]
        parent = np.full(len(nodes), -1, np.intp)
        for j, kids in enumerate(children):
            parent[kids] = j
        depth = np.zeros(len(nodes), np.intp)
        for j in range(1, len(nodes)):
            depth[j] = depth[parent[j]] + 1
        groups = [j for j in reversed(range(len(nodes))) if len(children[j])]
        return cls(nodes, [nd.id for nd in nodes], children, parent, depth, groups)

    @property
    def size(self) -> int:
        return len(self.nodes)

    def index(self, node_id: str) -> int:
        return self.ids.index(node_id)


@dataclass
class NodePlan:
    """What aggregating one group node needs that does not change between draws."""

    node: int
    method: str
    policy: str
    kids: np.ndarray  # all children
    static: np.ndarray  # bool per child: its score is the same in every draw
    a: np.ndarray  # (n, k) weight of each usable child, 0 otherwise
    static_f: np.ndarray  # (k_static, n) a_ik * f(s_ik) of the static children, transposed
    fill: list  # per child: (n,) bool mask of units whose missing value the policy fills
    zero_static: np.ndarray  # (n,) harmonic: a usable static child scores 0
    min_static: np.ndarray  # (n,) minimum: minimum over usable static children
    valid: np.ndarray  # (n,) the node has a score for the unit
    uniform: np.ndarray | None = None  # (k,) when every unit has the same usable weights
    all_usable: np.ndarray | None = None  # (k,) bool: the child is usable for every unit
    scalar: np.ndarray | None = None  # (k,) the child's weight when equal for every unit, else NaN


@dataclass
class AggregationPlan:
    """The static part of aggregating a tree (see :func:`plan_aggregation`).

    Attributes
    ----------
    nodes : list of NodePlan
        Group nodes, children before parents.
    scores : ndarray (n, N)
        Scores of the static nodes after the missing-value policies (filled values in place).
    notes : list of dict
        Every missing value met and what its parent's policy did (for the log and ``explain``).
    """

    tree: Tree
    nodes: list
    scores: np.ndarray
    valid: np.ndarray  # (n, N)
    notes: list = field(default_factory=list)


def _f(method: str, s: np.ndarray) -> np.ndarray:
    if method == "geometric":
        return np.log(s)
    if method == "harmonic":
        return 1.0 / np.where(s != 0, s, 1.0)
    return s


def plan_aggregation(tree: Tree, scores: np.ndarray, weights: np.ndarray, applies: np.ndarray,
                     methods: list[str], policies: list[str], impute: GroupIndex, *,
                     units: list[str], names: list[str], period: str, where: dict,
                     dynamic: frozenset = frozenset()) -> AggregationPlan:
    """Check the tree's inputs once and prepare every group node for :func:`aggregate`.

    Parameters
    ----------
    tree : Tree
    scores : ndarray (n, N)
        Scores (0–100) of the leaf-like nodes; NaN where missing (other columns ignored).
    weights : ndarray (n, N)
        Weight of every node within its parent, per unit (overrides applied).
    applies : ndarray of bool (n, N)
        Whether each node concerns each unit (its own and its ancestors' applicability).
    methods, policies : list of str, length N
        Aggregation method and missing-value policy of every group node.
    impute : GroupIndex
        The comparison groups of ``impute_group_mean``.
    units, names : list of str
        Unit ids and names (for messages and notes).
    period : str
    where : dict
        Node index -> "file, line, key" of the node's ``missing`` key, for messages.
    dynamic : frozenset of int
        Leaf nodes whose scores will be given per draw to :func:`aggregate`.

    Raises
    ------
    DataError
        A missing value under the policy ``error``; nothing in a group to impute from; a unit
        with no usable value at all.
    SchemeError
        A geometric mean over a score that is not positive.
    """
    n, N = scores.shape
    filled = scores.copy()
    valid = np.isfinite(scores) & applies
    notes: list = []
    plans = []
    is_group = np.array([len(k) > 0 for k in tree.children])
    for p in tree.groups:
        kids = tree.children[p]
        method, policy = methods[p], policies[p]
        static = ~is_group[kids] & ~np.isin(kids, list(dynamic))
        w = weights[:, kids]
        app = applies[:, kids]
        missing = app & ~valid[:, kids] & (w > 0)
        if missing.any() and policy == "error":
            rows, cols = np.nonzero(missing)
            raise DataError([
                Problem(f"unit {units[i]} ({names[i]}) has no value for {tree.ids[kids[k]]!r} "
                        f"in period {period}, and node {tree.ids[p]!r} ({where.get(p, '')}) has "
                        "the missing-value policy 'error'; supply the value or choose another "
                        "policy (renormalise, impute_group_mean, zero)")
                for i, k in zip(rows, cols, strict=True)])
        fill = [None] * len(kids)
        if missing.any() and policy in ("zero", "impute_group_mean"):
            for c, k in enumerate(kids):
                mask = missing[:, c]
                if not mask.any():
                    continue
                fill[c] = mask
                if policy == "impute_group_mean":
                    has = impute.count(np.where(valid[:, k], 1.0, np.nan)) > 0
                    if not has[mask].all():
                        i = np.flatnonzero(mask & ~has)[0]
                        raise DataError(f"cannot impute {tree.ids[k]!r} for unit {units[i]} "
                                        f"({names[i]}) in period {period}: no unit in its group "
                                        f"has a value (node {tree.ids[p]!r}, policy "
                                        "impute_group_mean)")
                if static[c]:
                    value = 0.0 if policy == "zero" else \
                        impute.mean(np.where(valid[:, k], filled[:, k], np.nan))
                    filled[:, k] = np.where(mask, value, filled[:, k])
        usable = app & (w > 0) & (valid[:, kids] | missing & (policy in ("zero", "impute_group_mean")))
        for c, k in enumerate(kids):
            rows = np.flatnonzero(missing[:, c])
            if not len(rows):
                continue
            action = {"zero": "scored 0 (policy 'zero')",
                      "impute_group_mean": "imputed with the group mean (policy "
                                           "'impute_group_mean')"}.get(
                policy, "left out; the other weights re-normalised (policy 'renormalise')")
            for i in rows:
                value = filled[i, k] if static[c] and policy != "renormalise" else None
                notes.append({"unit": units[i], "node": tree.ids[k], "parent": tree.ids[p],
                              "period": period, "policy": policy,
                              "value": None if value is None or not np.isfinite(value)
                              else float(value), "note": f"missing value {action}"})
        a = np.where(usable, w, 0.0)
        s = np.where(usable[:, static], filled[:, kids[static]], 1.0)
        if method == "geometric":
            bad = usable[:, static] & (s <= 0)
            if bad.any():
                i, c = np.argwhere(bad)[0]
                raise SchemeError(
                    f"geometric mean under {tree.ids[p]!r} meets a score of {s[i, c]:g} for unit "
                    f"{units[i]} ({names[i]}) on {tree.ids[kids[static][c]]!r}; a geometric mean "
                    "needs positive scores: use a min–max range such as [60, 100] or another "
                    "aggregation", key=f"{tree.nodes[p].path}.aggregate")
        a_static = a[:, static]
        zero_static = np.zeros(n, bool)
        min_static = np.full(n, np.inf)
        if method == "minimum":
            static_f = np.zeros((n, int(static.sum())))
            min_static = np.where(a_static > 0, s, np.inf).min(axis=1, initial=np.inf)
        else:
            if method == "harmonic":
                zero_static = ((a_static > 0) & (s == 0)).any(axis=1)
            static_f = np.where(a_static > 0, a_static * _f(method, s), 0.0)
        node_valid = a.sum(axis=1) > 0
        valid[:, p] = node_valid & applies[:, p]
        uniform = a[0].copy() if n and (a == a[0]).all() and node_valid.all() else None
        same = (a == a[:1]).all(axis=0) if n else np.ones(len(kids), bool)
        scalar = np.where(same, a[0] if n else 0.0, np.nan)
        plans.append(NodePlan(p, method, policy, kids, static, np.ascontiguousarray(a),
                              np.ascontiguousarray(static_f.T), fill, zero_static, min_static,
                              valid[:, p].copy(), uniform, (a > 0).all(axis=0), scalar))
    return AggregationPlan(tree, plans, filled, valid, notes)


def aggregate(plan: AggregationPlan, multipliers: np.ndarray | None = None,
              dynamic_scores: dict | None = None, impute: GroupIndex | None = None,
              keep=None) -> dict[int, np.ndarray]:
    """Scores (d, n) of the group nodes for a batch of draws.

    Parameters
    ----------
    plan : AggregationPlan
    multipliers : ndarray (d, N), optional
        Weight multiplier of every node in every draw (default one draw, all 1).
    dynamic_scores : dict, optional
        Leaf node index -> (d, n) scores, for the leaves planned as ``dynamic``.
    impute : GroupIndex, optional
        Comparison groups for ``impute_group_mean`` of group children (required when a plan
        imputes a group child).
    keep : iterable of int, optional
        Group nodes whose scores to return besides the root (default: every group node).

    Returns
    -------
    dict
        Node index -> (d, n) scores (NaN where the node does not apply to the unit or has no
        usable child). A group child filled by its parent's policy is returned filled.
    """
    tree = plan.tree
    m = np.ones((1, tree.size)) if multipliers is None else np.asarray(multipliers, float)
    d = m.shape[0]
    n = plan.scores.shape[0]
    value: dict[int, np.ndarray] = {}
    logs: dict[int, np.ndarray] = {}  # log of a geometric node, reused by a geometric parent
    dynamic_scores = dynamic_scores or {}
    for pp in plan.nodes:
        kids, method = pp.kids, pp.method
        mk = m[:, kids]
        if pp.uniform is not None and method != "minimum":
            # every unit has the same usable weights: one denominator per draw
            mk = mk / (mk @ pp.uniform)[:, None]
            den = None
        else:
            den = mk @ pp.a.T
        if method == "minimum":
            out = np.broadcast_to(pp.min_static, (d, n)).copy()
        else:
            out = mk[:, pp.static] @ pp.static_f if pp.static.any() else np.zeros((d, n))
            if not out.flags.writeable:
                out = out.copy()
        zero = pp.zero_static[None, :] if method == "harmonic" else None
        for c in np.flatnonzero(~pp.static):
            k = int(kids[c])
            child = value[k] if k in value else np.asarray(dynamic_scores[k], float)
            child = np.broadcast_to(child, (d, n))
            mask = pp.fill[c]
            if mask is not None:
                fill = 0.0 if pp.policy == "zero" else impute.mean(child)
                child = np.where(mask[None, :], fill, child)
                if k in value:
                    value[k] = child  # the node's own score is the filled one
            everywhere = bool(pp.all_usable[c])  # usable for every unit: no masking needed
            ok = None if everywhere else (pp.a[:, c] > 0)[None, :]
            if method == "minimum":
                out = np.minimum(out, child if everywhere else np.where(ok, child, np.inf))
                continue
            if method == "geometric":
                if mask is None and k in logs:
                    fc = logs[k]  # NaN only where the child is not usable (masked below)
                else:
                    bad = (child <= 0) if everywhere else (child <= 0) & ok
                    if bad.any():
                        r, i = np.argwhere(bad)[0]
                        raise SchemeError(
                            f"geometric mean under {tree.ids[pp.node]!r} meets a score of "
                            f"{child[r, i]:g} on {tree.ids[k]!r} (unit {i}); a geometric mean "
                            "needs positive scores", key=f"{tree.nodes[pp.node].path}.aggregate")
                    fc = np.log(child if everywhere else np.where(ok, child, 1.0))
            elif method == "harmonic":
                z = (child == 0) if everywhere else (child == 0) & ok
                zero = z if zero is None else zero | z
                fc = 1.0 / np.where(z, 1.0, child if everywhere else np.where(ok, child, 1.0))
                fc[z] = 0.0
            else:
                fc = child
            if not everywhere:
                fc = np.where(ok, fc, 0.0)
            if np.isfinite(pp.scalar[c]):  # one weight for every unit: scale per draw only
                out += fc * (pp.scalar[c] * mk[:, c])[:, None]
            else:
                out += fc * (pp.a[:, c][None, :] * mk[:, c][:, None])
        if method != "minimum":
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = out if den is None else out / den
            if method == "arithmetic":
                out = ratio
            elif method == "geometric":
                logs[pp.node] = ratio
                out = np.exp(ratio)
            else:
                with np.errstate(divide="ignore"):
                    out = np.where(zero, 0.0, 1.0 / ratio)
        if not pp.valid.all():
            out = np.where(pp.valid[None, :], out, np.nan)
        value[pp.node] = out
    if keep is not None:
        wanted = set(keep) | {0}
        value = {k: v for k, v in value.items() if k in wanted}
    return value


def effective_weights(plan: AggregationPlan, multipliers: np.ndarray | None = None
                      ) -> np.ndarray:
    """Weight (n, N) of every node within its parent as used for one draw (re-normalised over
    the usable children; 0 for a child that is not usable; 1 for the root)."""
    tree = plan.tree
    n = plan.scores.shape[0]
    m = np.ones(tree.size) if multipliers is None else np.asarray(multipliers, float).ravel()
    out = np.zeros((n, tree.size))
    out[:, 0] = 1.0
    for pp in plan.nodes:
        a = pp.a * m[pp.kids][None, :]
        total = a.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, pp.kids] = np.where(total > 0, a / total, 0.0)
    return out
