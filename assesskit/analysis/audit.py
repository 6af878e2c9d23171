"""Statistical audit of a scheme (指标体系统计审查), after the JRC/OECD composite-indicator audit.

Before a ranking is published, the European Commission's Joint Research Centre audits the
composite behind it: do the indicators of a dimension measure one thing (correlations,
Cronbach's alpha, principal components)? Does any indicator duplicate another, or barely move the
total? Dingxi cut 29 of its 86 indicators (33.7 %) after such a review. :func:`audit` evaluates a
scheme at one level and period with :func:`assesskit.evaluate` and, on the 0–100 node scores the
engine produced, reports

* the correlations between indicators, and of each indicator with its dimension (its parent node)
  and with the total;
* Cronbach's alpha and the variance share of the first principal component per dimension;
* redundant pairs (|r| above a threshold), indicators that barely move the total (weak
  correlation with it, or an effective weight well below the nominal one, from
  :func:`assesskit.analysis.weights.effective`) and constant ones;
* a suggested reduced indicator set (:meth:`Scheme.without_nodes`, which rescales the siblings and
  logs the change) and the rank agreement it keeps (:func:`assesskit.compare`: Spearman, the
  overlap of each list, who changes fate).

The audit is generic: it walks whatever tree the scheme has, so a fuller indicator set needs no
change here.

References
----------
OECD & JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User Guide*.
OECD Publishing, ch. 3 (multivariate analysis) and 7 (robustness).
Saisana, M., & Saltelli, A. (2012). Corruption Perceptions Index 2012 — Statistical Assessment.
JRC Scientific and Policy Reports.
Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. *Psychometrika*,
16(3), 297–334.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data.model import Dataset
from ..engine.evaluation import Evaluation, evaluate
from ..errors import DataError, Notice, SchemeError
from ..scheme.model import Scheme, load_scheme
from .compare import ALL_UNITS, Comparison, compare
from .weights.schemes import effective

__all__ = ["Audit", "audit", "audit_or_reason", "critical_r", "cronbach_alpha",
           "first_component_share"]

#: Label of the total in the correlation tables.
TOTAL = "total"
#: Below this many units the audit warns that correlations are rough (the same bound under
#: which :func:`~assesskit.analysis.weights.effective` falls back to the linear r²).
FEW_UNITS = 20


def critical_r(n: int, level: float = 0.05) -> float:
    """Smallest |r| significantly different from 0 (two-sided) with n units.

    Parameters
    ----------
    n : int
        Units (pairs of values); at least 3.
    level : float
        Significance level (default 5%).

    Returns
    -------
    float
        :math:`r_c = t / \\sqrt{n - 2 + t^2}` with :math:`t` the ``1 − level/2`` quantile of
        Student's t with ``n − 2`` degrees of freedom (the test of a Pearson correlation,
        :math:`t = r\\sqrt{n-2}/\\sqrt{1-r^2}`, solved for r). NaN for n < 3.

    References
    ----------
    Fisher, R. A. (1925). *Statistical Methods for Research Workers*, table V.A (r at 5% with
    5 degrees of freedom: 0.7545).

    Examples
    --------
    >>> round(critical_r(7), 4)                      # Dingxi's 7 counties
    0.7545
    """
    from scipy.stats import t as student_t

    if n < 3:
        return float("nan")
    t = student_t.ppf(1 - level / 2, n - 2)
    return float(t / np.sqrt(n - 2 + t * t))


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of a units × items table (complete rows only).

    Parameters
    ----------
    items : DataFrame
        One column per item (indicator), one row per unit; rows with a missing value are left out.

    Returns
    -------
    float
        NaN with fewer than two items, fewer than two complete rows, or a constant sum.

    Notes
    -----
    :math:`\\alpha = \\frac{k}{k-1}\\left(1 - \\frac{\\sum_i s_i^2}{s_T^2}\\right)` with k items,
    :math:`s_i^2` the sample variance (n − 1) of item i and :math:`s_T^2` that of the row sums.
    Alpha rises with the mean inter-item correlation and with k; the handbook reads values
    above 0.7 as a consistent dimension. It is negative when items pull in opposite directions.

    References
    ----------
    Cronbach (1951); OECD & JRC (2008), section 3.1.3.

    Examples
    --------
    >>> cronbach_alpha(pd.DataFrame({"a": [1, 2, 3], "b": [3, 1, 2]}))
    -2.0
    """
    x = items.dropna().to_numpy(dtype=float)
    k = x.shape[1]
    if k < 2 or len(x) < 2:
        return float("nan")
    total = x.sum(axis=1).var(ddof=1)
    if total == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total))


def first_component_share(items: pd.DataFrame) -> tuple[float, int]:
    """Share of the variance of standardised items on the first principal component.

    Parameters
    ----------
    items : DataFrame
        Units × items; rows with a missing value and constant items are left out.

    Returns
    -------
    share : float
        Largest eigenvalue of the correlation matrix divided by the number of items (NaN with
        fewer than two varying items or three complete rows).
    n_kaiser : int
        Eigenvalues above 1 (Kaiser's rule: how many latent dimensions the items carry).

    Notes
    -----
    For two items with correlation r the eigenvalues are 1 ± |r|, so the share is (1 + |r|)/2.

    Examples
    --------
    >>> first_component_share(pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 3, 2, 4]}))[0]
    0.9
    """
    x = items.dropna()
    x = x.loc[:, x.std(ddof=1) > 0].to_numpy(dtype=float)
    if x.shape[1] < 2 or len(x) < 3:
        return float("nan"), 0
    eig = np.linalg.eigvalsh(np.corrcoef(x, rowvar=False))
    return float(round(eig[-1] / x.shape[1], 12)), int((eig > 1 + 1e-12).sum())


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass
class Audit:
    """Result of :func:`audit`.

    Attributes
    ----------
    indicators : DataFrame
        One row per indicator (leaf node): node, label, indicator, dimension, dimension_label,
        nominal_weight (global), n, sd (of the 0–100 score), r_dimension, r_total, eta2_share,
        nominal_share, ratio (effective / nominal, from
        :func:`~assesskit.analysis.weights.effective`), constant, redundant_with, weak_total
        (r_total below the threshold), low_effective (ratio below the threshold),
        against_dimension (r_dimension < 0), drop (in the suggested reduced set?) and reason.
    correlations : DataFrame
        Indicators × (indicators, then ``dimension`` and ``total``): the correlation matrix.
    dimensions : DataFrame
        One row per group node with at least two children: dimension, label, k (children),
        n (complete units), alpha (Cronbach), pc1_share, n_kaiser, r_total, meaningful (False
        when k ≥ n: alpha and the principal components are then not meaningful, and are
        neither read nor used) and caveat (why not).
    redundant : DataFrame
        Pairs with |r| at or above the threshold: node_a, node_b, label_a, label_b, r,
        same_dimension.
    agreement : DataFrame
        What the reduced set keeps: measure, group, value (Spearman and Kendall of the ranks over
        the level and per group; per consequence the share of the official list kept).
    outcome_changes : DataFrame
        Who enters or leaves a list under the reduced set (:attr:`Comparison.outcome_changes`).
    reduced_scheme : Scheme or None
        The suggested reduced scheme (its log records the removal); None if nothing is dropped.
    comparison : Comparison or None
    evaluation : Evaluation
        The official evaluation audited.
    notices : list of Notice
    settings : dict
    """

    indicators: pd.DataFrame
    correlations: pd.DataFrame
    dimensions: pd.DataFrame
    redundant: pd.DataFrame
    agreement: pd.DataFrame
    outcome_changes: pd.DataFrame
    reduced_scheme: Scheme | None
    comparison: Comparison | None
    evaluation: Evaluation
    notices: list[Notice] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The main tidy table: :attr:`indicators`."""
        return self.indicators.copy()

    @property
    def dropped(self) -> pd.DataFrame:
        """The indicators the reduced set leaves out, with the reason."""
        return self.indicators.loc[self.indicators["drop"], ["node", "label", "dimension",
                                                             "reason"]].reset_index(drop=True)

    def summary(self) -> str:
        """Plain text: dimensions, flags, the reduced set and what it keeps."""
        s = self.settings
        ind = self.indicators
        lines = [f"Statistical audit of {s['scheme']} (level {s['level']}), {s['dataset']}, "
                 f"period {s['period']}: {len(ind)} indicators, {s['n_units']} units "
                 f"({s['method']} correlations; |r| below {_fmt(s['critical_r'])} is not "
                 "significant at 5%)"]
        for r in self.dimensions.itertuples():
            if not r.meaningful:
                lines.append(f"  dimension {r.label} [{r.dimension}]: {r.k} parts, alpha and "
                             f"principal components NOT MEANINGFUL ({r.caveat}), r with total "
                             f"{_fmt(r.r_total)}")
                continue
            lines.append(f"  dimension {r.label} [{r.dimension}]: {r.k} parts, alpha "
                         f"{_fmt(r.alpha)}, first component {_fmt(r.pc1_share, '.0%')} of the "
                         f"variance, {r.n_kaiser} eigenvalue(s) > 1, r with total "
                         f"{_fmt(r.r_total)}")
        for r in self.redundant.itertuples():
            lines.append(f"  redundant: {r.label_a} [{r.node_a}] and {r.label_b} [{r.node_b}], "
                         f"r = {r.r:+.2f}")
        for col, what in (("constant", "constant (all units score the same)"),
                          ("weak_total", f"weakly correlated with the total (r < "
                                         f"{s['weak_below']})"),
                          ("low_effective", f"effective weight below {s['low_ratio']:.0%} of "
                                            "the nominal"),
                          ("against_dimension", "negatively correlated with its dimension")):
            hit = ind[ind[col]]
            if len(hit):
                lines.append(f"  {what}: " + ", ".join(f"{a} [{b}]" for a, b in
                                                        hit[["label", "node"]].itertuples(
                                                            index=False)))
        if self.dropped.empty:
            lines.append("Suggested reduced set: none (no indicator meets the criteria)")
        elif self.reduced_scheme is None:
            lines.append(f"Suggested reduced set: drop {len(self.dropped)} of {len(ind)} "
                         "indicators (the reduced scheme cannot be built; see the notices):")
            lines += [f"  - {r.label} [{r.node}]: {r.reason}" for r in self.dropped.itertuples()]
        else:
            lines.append(f"Suggested reduced set: drop {len(self.dropped)} of {len(ind)} "
                         f"indicators ({len(self.dropped) / len(ind):.1%}):")
            lines += [f"  - {r.label} [{r.node}]: {r.reason}" for r in self.dropped.itertuples()]
            ag = self.agreement
            for r in ag.itertuples():
                lines.append(f"  {r.measure}" + (f" ({r.group})" if r.group != ALL_UNITS else "")
                             + f": {_fmt(r.value)}")
            for r in self.outcome_changes.itertuples():
                lines.append(f"  {r.change} {r.label}: {r.name} ({r.unit}, {r.group})")
        if self.notices:
            lines.append("Notices:")
            lines += [f"  - {n}" for n in self.notices]
        return "\n".join(lines)

    def narrative(self) -> str:
        """What the audit finds, and its limits, as Markdown computed from this result."""
        s = self.settings
        ind, dims = self.indicators, self.dimensions
        n = s["n_units"]
        out = [f"**{_esc(s['scheme'])}**, level {_esc(s['level'])}, period {_esc(s['period'])}: "
               f"{len(ind)} indicators in {len(dims)} dimension(s) with at least two parts, "
               f"{n} units ({s['method']} correlations of the 0–100 indicator scores).", ""]
        for r in dims.itertuples():
            if not r.meaningful:
                out.append(f"- {_esc(r.label)}: {r.k} parts on {r.n} units, so Cronbach's "
                           "alpha and the principal components are **not meaningful** "
                           f"({_esc(r.caveat)}); nothing is read from them, and its redundant "
                           "pairs are listed, not cut.")
                continue
            if np.isnan(r.alpha):
                out.append(f"- {_esc(r.label)}: too few complete units for Cronbach's alpha.")
                continue
            word = ("consistent (alpha ≥ 0.7)" if r.alpha >= 0.7 else
                    "weakly consistent (alpha < 0.7): its parts do not measure one thing")
            out.append(f"- {_esc(r.label)}: alpha {r.alpha:.2f}, {word}; the first principal "
                       f"component carries {r.pc1_share:.0%} of the variance"
                       + (f", and {r.n_kaiser} components have an eigenvalue above 1 (more than "
                          "one underlying dimension)." if r.n_kaiser > 1 else "."))
        red = self.redundant
        if len(red):
            within = int(red["same_dimension"].sum())
            wide = set(dims.loc[~dims["meaningful"].astype(bool), "dimension"])
            dim_of = dict(zip(ind["node"], ind["dimension"], strict=True))
            uncut = int((red["same_dimension"] & red["node_a"].map(dim_of).isin(wide)).sum())
            out.append(f"- {len(red)} pair(s) of indicators correlate at |r| ≥ "
                       f"{s['redundant_above']} ({within} within one dimension"
                       + (f", of which {uncut} inside a dimension with as many parts as units: "
                          "listed, not cut" if uncut else "")
                       + "): they largely count the same thing twice.")
        else:
            out.append(f"- No pair of indicators correlates at |r| ≥ {s['redundant_above']}.")
        weak = ind[ind["weak_total"] | ind["low_effective"]]
        if len(weak):
            out.append(f"- {len(weak)} indicator(s) barely move the total (r with it below "
                       f"{s['weak_below']} or effective weight below {s['low_ratio']:.0%} of "
                       "the nominal): " + ", ".join(_esc(x) for x in weak["label"]) + ".")
        for notice in self.notices:
            if notice.kind in ("kept_by_design", "few_units"):
                out.append(f"- {_esc(notice.message[0].upper() + notice.message[1:])}.")
        dropped = self.dropped
        if dropped.empty:
            out.append("- No reduced indicator set is suggested at these thresholds.")
        elif self.reduced_scheme is None:
            out.append(f"- A reduced set without {len(dropped)} indicator(s) is suggested but "
                       "cannot be built from this scheme (see the notices).")
        else:
            ag = self.agreement.set_index(["measure", "group"])["value"]
            rho = ag.get(("Spearman rank correlation", ALL_UNITS), np.nan)
            kept = [f"{_esc(m.replace('share of the ', '').replace(' list kept', ''))} "
                    f"{v:.0%}" for (m, g), v in ag.items() if m.startswith("share of the")]
            moved = self.outcome_changes["unit"].nunique()
            out.append(f"- Dropping {len(dropped)} of {len(ind)} indicators "
                       f"({len(dropped) / len(ind):.0%}) keeps a Spearman rank correlation of "
                       f"{rho:.2f} with the official ranking"
                       + (f"; share of each list kept: {', '.join(kept)}" if kept else "")
                       + f"; {moved} unit(s) change fate.")
        out += ["", "**Limits.**",
                f"- {n} units: " + ("a correlation of 0.5 has a 95% interval of about "
                                    f"{_r_interval(0.5, n)}, and |r| below "
                                    f"{s['critical_r']:.2f} is not significantly different "
                                    "from 0 at 5%; read large gaps, not decimals."
                                    if n > 3 else "too few for any correlation to mean much."),
                f"- One period ({_esc(s['period'])}): an indicator that is constant or "
                "redundant this period may not be in another; audit several periods before "
                "cutting.",
                "- Scores are those the scheme computes: a rule that scores within groups "
                "(min–max per group) changes the correlations across groups.",
                "- Statistics say which indicators move the ranking, not which matter for "
                "policy: an indicator can be weak here and still be the point of the scheme."]
        return "\n".join(out)

    def __repr__(self) -> str:
        s = self.settings
        return (f"Audit(scheme={s['scheme']!r}, level={s['level']!r}, period={s['period']!r}, "
                f"indicators={len(self.indicators)}, dropped={int(self.indicators['drop'].sum())})")

    def _repr_html_(self) -> str:
        s = self.settings
        head = (f"<p><b>Statistical audit</b> of {html.escape(str(s['scheme']))} "
                f"({html.escape(str(s['level']))}, {html.escape(str(s['period']))})</p>")
        cols = ["node", "label", "dimension", "r_dimension", "r_total", "ratio", "drop", "reason"]
        return head + self.indicators[cols].to_html(index=False, escape=True,
                                                    float_format="{:.2f}".format)

    def plot(self, *, title: str | None = None):
        """Correlation heatmap: indicators × (indicators, their dimension, the total).

        Returns a matplotlib Figure; call :func:`assesskit.report.plotting.use_cjk_font` first so
        Chinese names render. Values are written in the cells when there are at most 25
        indicators.
        """
        from matplotlib.figure import Figure

        corr = self.correlations
        n, m = corr.shape
        labels = dict(zip(self.indicators["node"], self.indicators["label"], strict=True))
        rows = [f"{labels[k]} ({k})" if labels[k] != k else k for k in corr.index]
        fig = Figure(figsize=(3.5 + 0.42 * m + 0.08 * max(map(len, rows)), 1.8 + 0.36 * n),
                     layout="constrained")
        ax = fig.subplots()
        values = corr.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu_r", vmin=-1, vmax=1,
                          aspect="auto")
        if n <= 25:
            for i, j in zip(*np.nonzero(np.isfinite(values)), strict=True):
                v = values[i, j]
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(v) > 0.6 else "0.15")
        ax.axvline(n - 0.5, color="black", lw=1.5)  # indicators | dimension, total
        ax.set_xticks(range(m), [str(c) for c in corr.columns], rotation=60, ha="right",
                      fontsize=8)
        ax.set_yticks(range(n), rows, fontsize=8)
        ax.set_xlabel("指标 / 维度 / 总分 indicator, its dimension, the total")
        ax.set_ylabel("指标 indicator")
        fig.colorbar(image, ax=ax, label=f"{self.settings['method']} correlation", shrink=0.8)
        s = self.settings
        ax.set_title(title or f"{s['scheme']} {s['level']} {s['period']}: 指标相关性 "
                              "correlations of the 0–100 indicator scores", fontsize=10)
        return fig


def _r_interval(r: float, n: int) -> str:
    """95% interval of a Pearson correlation r from n units (Fisher's z)."""
    if n <= 3:
        return "undefined (n ≤ 3)"
    z, half = np.arctanh(r), 1.96 / np.sqrt(n - 3)
    return f"{np.tanh(z - half):.2f} to {np.tanh(z + half):.2f}"


def _esc(text) -> str:
    """Text from data made safe inside Markdown (no markup, no HTML)."""
    out = html.escape(str(text), quote=False)
    for ch in "\\`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return out


def _fmt(x, spec: str = ".2f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


# --------------------------------------------------------------------------------------------
# the verb
# --------------------------------------------------------------------------------------------
def audit(scheme, data: Dataset, period, *, level: str | None = None, method: str = "pearson",
          redundant_above: float = 0.9, weak_below: float = 0.3, low_ratio: float = 0.5,
          reduce: bool = True) -> Audit:
    """Audit a scheme's indicators at one level and period (JRC/OECD statistical coherence).

    Parameters
    ----------
    scheme : Scheme, str or dict
    data : Dataset
    period : int or str
    level : str, optional
        Assessed level; default the first the scheme lists.
    method : {"pearson", "spearman"}
        Correlation coefficient (pairwise complete units, at least 3).
    redundant_above : float
        Pairs with |r| ≥ this are redundant (default 0.9, the COIN tool's collinearity
        threshold).
    weak_below : float
        An indicator whose correlation with the total is below this barely moves it (default 0.3).
    low_ratio : float
        An indicator whose effective weight share is below this fraction of its nominal share
        (``ratio`` of :func:`~assesskit.analysis.weights.effective`) counts less than its printed
        weight says (default 0.5).
    reduce : bool
        Build, evaluate and compare the suggested reduced set (default True).

    Returns
    -------
    Audit

    Raises
    ------
    SchemeError
        Unknown level.
    DataError
        Fewer than three assessed units, or no indicator.

    Notes
    -----
    All statistics are computed on the 0–100 scores the engine gives each node (after
    normalisation, as the JRC audit uses normalised data), across the units of the level. A
    leaf's dimension is its parent node; for a leaf directly under the root, the dimension is
    the total. The correlation of an indicator with its own dimension includes the indicator
    (a part–whole correlation, inflated for small dimensions).

    The suggested reduced set drops, among leaves scoring an indicator: (1) constant
    indicators, which cannot move the ranking; (2) of each redundant pair, the one less
    correlated with the total (the first in the tree on a tie), when both belong to the same
    dimension (across dimensions a high r is reported, not cut); (3) indicators that barely move
    the total: a correlation with it below ``weak_below`` *or* an effective weight below
    ``low_ratio`` of the nominal. A parent always keeps at least one child (the one most
    correlated with the total); indicators another level shares, or that apply to named units
    only, are flagged but never dropped.

    A dimension with as many parts as units or more (k ≥ n complete units; Dingxi's 42 economic
    indicators on 7 counties) is flagged ``meaningful = False``: the k × k correlation matrix of
    n units has rank at most n − 1, so at least k − n + 1 eigenvalues are 0 by construction and
    Cronbach's alpha and the principal components describe the few units, not the indicators.
    They are shown as not meaningful, never interpreted, and no cut is derived from that
    dimension's correlation structure: its redundant pairs (among k(k − 1)/2 ≥ n(n − 1)/2 pairs
    on n units many pass |r| ≥ 0.9 by chance) are listed, not cut. With fewer than
    :data:`FEW_UNITS` units, or any such dimension, a notice gives n and the critical |r| at 5%
    (:func:`critical_r`). :meth:`Scheme.without_nodes` removes the rest and
    rescales the siblings. With a few dozen units every correlation is rough (the 95% interval
    of r = 0.5 with 39 units is about 0.22–0.70): the set is a suggestion to examine, not a
    verdict.

    Examples
    --------
    >>> res = audit("sichuan-39", ak.datasets.load("sichuan-39"), 2025)          # doctest: +SKIP
    >>> print(res.summary())                                                      # doctest: +SKIP
    """
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method must be 'pearson' or 'spearman', not {method!r}")
    if not isinstance(scheme, Scheme):
        scheme = load_scheme(scheme)
    listed = list(scheme.spec["levels"])
    level = level or listed[0]
    if level not in scheme.levels:
        raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; levels: {listed}",
                          key="levels")
    ev = evaluate(scheme, data, period, levels=[level])
    scores = ev.scores[ev.scores["level"] == level].reset_index(drop=True)
    if len(scores) < 3:
        raise DataError(f"level {level!r} has {len(scores)} assessed unit(s); an audit needs at "
                        "least 3 to correlate anything")
    contrib = ev.contributions[ev.contributions["level"] == level]
    nodes = list(scheme.levels[level].root.walk())
    leaves = [n for n in nodes if n.kind != "group"]
    if not leaves:
        raise DataError(f"level {level!r} of scheme {scheme.name!r} has no indicator")
    parent = {c.id: p for p in nodes for c in p.children}
    label = {n.id: n.label or n.id for n in nodes}
    wide = contrib.pivot_table(index="unit", columns="node", values="score", sort=False,
                               dropna=False)
    wide = wide.reindex(index=scores["unit"])
    total = pd.Series(scores["score"].to_numpy(dtype=float), index=scores["unit"])
    notices: list[Notice] = []

    leaf_ids = [n.id for n in leaves]
    X = wide.reindex(columns=leaf_ids)
    corr = _corr(X, method)
    dim_of = {nid: parent[nid].id for nid in leaf_ids}

    def dimension_score(dim: str) -> pd.Series:
        return total if dim == "total" else wide[dim]

    r_dim = pd.Series({nid: _corr_pair(X[nid], dimension_score(dim_of[nid]), method)
                       for nid in leaf_ids})
    r_tot = pd.Series({nid: _corr_pair(X[nid], total, method) for nid in leaf_ids})
    full = corr.copy()
    full["dimension"] = r_dim
    full[TOTAL] = r_tot

    eff = effective(ev, level=level).set_index("node")
    sd = X.std(ddof=1)
    table = pd.DataFrame({
        "node": leaf_ids, "label": [label[i] for i in leaf_ids],
        "indicator": [n.indicator or "" for n in leaves],
        "dimension": [dim_of[i] for i in leaf_ids],
        "dimension_label": [label[dim_of[i]] for i in leaf_ids],
        "nominal_weight": eff["nominal_weight"].reindex(leaf_ids).to_numpy(),
        "n": X.notna().sum().to_numpy(), "sd": sd.to_numpy(),
        "r_dimension": r_dim.to_numpy(), "r_total": r_tot.to_numpy(),
        "eta2_share": eff["eta2_share"].reindex(leaf_ids).to_numpy(),
        "nominal_share": eff["nominal_share"].reindex(leaf_ids).to_numpy(),
        "ratio": eff["ratio"].reindex(leaf_ids).to_numpy()})
    table["constant"] = (table["n"] >= 3) & ~(sd.to_numpy() > 0)
    table["weak_total"] = (table["r_total"] < weak_below).fillna(False).astype(bool)
    table["low_effective"] = (table["ratio"] < low_ratio).fillna(False).astype(bool)
    table["against_dimension"] = (table["r_dimension"] < 0).fillna(False).astype(bool)

    redundant = _redundant_pairs(corr, redundant_above, dim_of, label)
    partners = {nid: [] for nid in leaf_ids}
    for r in redundant.itertuples():
        partners[r.node_a].append(r.node_b)
        partners[r.node_b].append(r.node_a)
    table["redundant_with"] = [", ".join(partners[i]) for i in leaf_ids]

    dimensions = _dimensions(nodes, wide, total, method)
    too_wide = dimensions.loc[~dimensions["meaningful"].astype(bool)]
    r_crit = critical_r(len(scores))
    if len(too_wide) or len(scores) < FEW_UNITS:
        wide_text = "; ".join(f"{r.label} [{r.dimension}]: {r.k} parts on {r.n} units"
                              for r in too_wide.itertuples())
        notices.append(Notice(
            "few_units", f"only {len(scores)} units: a correlation between indicators is "
            f"unreliable (|r| below {r_crit:.2f} is not significantly different from 0 at 5%, "
            f"and r = 0.9 has a 95% interval of {_r_interval(0.9, len(scores))})"
            + (f"; Cronbach's alpha and the principal components are not meaningful where a "
               f"dimension has as many parts as units or more ({wide_text}), and its redundant "
               "pairs are not cut" if len(too_wide) else ""), where=level))
    drop, reasons, kept = _suggest_drops(table, redundant, parent, scheme, level,
                                         set(too_wide["dimension"]))
    if kept:
        notices.append(Notice("kept_by_design", "flagged but never suggested for removal, "
                              "because another level shares them or they apply to named units "
                              f"only: {', '.join(kept)}", where=level))
    table["drop"] = table["node"].isin(drop)
    table["reason"] = [reasons.get(nid, "") for nid in table["node"]]

    reduced, comparison, agreement, changes = None, None, _empty_agreement(), \
        pd.DataFrame(columns=["level", "scheme", "consequence", "label", "change", "unit", "name",
                              "group", "subgroup"])
    if reduce and drop:
        try:
            reduced = scheme.without_nodes(
                drop, level=level, note=f"statistical audit of period {ev.period}: "
                + "; ".join(f"{d} ({reasons[d]})" for d in drop))
        except SchemeError as exc:  # e.g. siblings whose weights hold per-unit overrides
            notices.append(Notice("reduction_not_built", f"the suggested reduced set "
                                  f"({', '.join(drop)}) cannot be built: {exc}", where=level))
            reduced = None
    if reduce and reduced is not None:
        ev_reduced = evaluate(reduced, data, period, levels=[level])
        comparison = compare({"official": ev, "reduced": ev_reduced}, level=level)
        agreement = _agreement(comparison, scheme, level)
        changes = comparison.outcome_changes
    elif not drop and not any(n.kind == "reduction_not_built" for n in notices):
        notices.append(Notice("nothing_to_drop", "no indicator that may be removed is constant, "
                              f"redundant within its dimension (|r| ≥ {redundant_above}), weakly "
                              f"correlated with the total (r < {weak_below}) or of low effective "
                              f"weight (< {low_ratio:.0%} of nominal); no reduced set is "
                              "suggested", where=level))
    settings = {"scheme": scheme.name, "dataset": data.name, "period": ev.period, "level": level,
                "method": method, "redundant_above": redundant_above, "weak_below": weak_below,
                "low_ratio": low_ratio, "n_units": len(scores), "critical_r": r_crit}
    return Audit(table, full, dimensions, redundant, agreement, changes, reduced, comparison,
                 ev, notices, settings)


def audit_or_reason(scheme, data: Dataset, period, **kwargs) -> tuple[Audit | None, str]:
    """Run :func:`audit`, or say in Markdown why it cannot apply (for notebooks and reports).

    Returns
    -------
    result : Audit or None
    markdown : str
        :meth:`Audit.narrative`, or the reason the audit does not apply (names escaped).
    """
    try:
        res = audit(scheme, data, period, **kwargs)
    except (DataError, SchemeError) as exc:
        name = getattr(scheme, "name", scheme)
        return None, (f"**The audit does not apply** to `{_esc(name)}` on dataset "
                      f"`{_esc(data.name)}`, period {_esc(period)}: {_esc(exc)}")
    return res, res.narrative()


# --------------------------------------------------------------------------------------------
# internals
# --------------------------------------------------------------------------------------------
def _corr(X: pd.DataFrame, method: str) -> pd.DataFrame:
    """Pairwise correlations (≥ 3 complete units); NaN, never a warning, for a constant column."""
    varying = [c for c in X.columns if X[c].dropna().nunique() > 1]
    out = pd.DataFrame(np.nan, index=X.columns, columns=X.columns)
    if varying:
        out.loc[varying, varying] = X[varying].corr(method=method, min_periods=3)
    out.index.name = out.columns.name = "node"
    return out


def _corr_pair(a: pd.Series, b: pd.Series, method: str) -> float:
    ok = a.notna().to_numpy() & b.notna().to_numpy()
    x, y = a.to_numpy(dtype=float)[ok], b.to_numpy(dtype=float)[ok]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(pd.Series(x).corr(pd.Series(y), method=method))


def _redundant_pairs(corr: pd.DataFrame, threshold: float, dim_of: dict, label: dict):
    ids = list(corr.index)
    rows = []
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            r = corr.loc[a, b]
            if np.isfinite(r) and abs(r) >= threshold:
                rows.append({"node_a": a, "node_b": b, "label_a": label[a], "label_b": label[b],
                             "r": float(r), "same_dimension": dim_of[a] == dim_of[b]})
    frame = pd.DataFrame(rows, columns=["node_a", "node_b", "label_a", "label_b", "r",
                                        "same_dimension"])
    return frame.sort_values("r", key=np.abs, ascending=False, kind="mergesort") \
        .reset_index(drop=True)


def _suggest_drops(table: pd.DataFrame, redundant: pd.DataFrame, parent: dict, scheme: Scheme,
                   level: str, too_wide: set[str] = frozenset()) -> tuple[list[str], dict[str, str]]:
    kinds = {n.id: n.kind for n in scheme.levels[level].root.walk()}
    # a node another level shares (Dingxi: county indicators credited to departments) stays
    shared = {(n.shared or {}).get("node", n.id) for spec in scheme.levels.values()
              for n in spec.root.walk() if n.shared and n.shared.get("from") == level}
    kinds.update({nid: "shared elsewhere" for nid in shared})
    # an indicator of named units only (Jincheng's county-specific ones) is not comparable
    kinds.update({n.id: "unit-specific" for n in scheme.levels[level].root.walk()
                  if n.applies_to is not None})
    row = table.set_index("node")
    order = {nid: i for i, nid in enumerate(table["node"])}
    reasons: dict[str, str] = {}
    for nid in table["node"]:
        if kinds[nid] == "leaf" and row.loc[nid, "constant"]:
            reasons[nid] = "constant: every unit scores the same, so it cannot move the ranking"
    for r in redundant.itertuples():
        if r.node_a in reasons or r.node_b in reasons or not r.same_dimension:
            continue  # across dimensions a high r is reported, not cut: they measure other aims
        if parent[r.node_a].id in too_wide:
            continue  # k ≥ n: the dimension's correlation structure says nothing (reported)
        ra, rb = abs(row.loc[r.node_a, "r_total"]), abs(row.loc[r.node_b, "r_total"])
        keep, gone = (r.node_a, r.node_b) if (ra >= rb or np.isnan(rb)) else (r.node_b, r.node_a)
        if kinds[gone] == "leaf":
            reasons[gone] = (f"redundant with {keep} (r = {r.r:+.2f}), which correlates more "
                             "with the total")
    for nid in table["node"]:
        if nid in reasons or kinds[nid] != "leaf":
            continue
        weak, low = row.loc[nid, "weak_total"], row.loc[nid, "low_effective"]
        if weak or low:
            reasons[nid] = ("barely moves the total: "
                            + (f"r = {row.loc[nid, 'r_total']:+.2f} with it" if weak else "")
                            + (", " if weak and low else "")
                            + (f"effective weight {row.loc[nid, 'ratio']:.0%} of the nominal"
                               if low else ""))
    # a parent keeps at least one child: the one most correlated with the total
    children: dict[str, list[str]] = {}
    for nid in table["node"]:
        children.setdefault(parent[nid].id, []).append(nid)
    for kids in children.values():
        all_children = [c.id for c in parent[kids[0]].children]
        if all(c in reasons for c in all_children):
            best = max(all_children, key=lambda c: (np.nan_to_num(abs(row.loc[c, "r_total"]),
                                                                  nan=-1.0), -order[c]))
            del reasons[best]
    drop = sorted(reasons, key=order.get)
    kept = [nid for nid in table["node"] if kinds[nid] in ("shared elsewhere", "unit-specific")
            and (row.loc[nid, "redundant_with"] or row.loc[nid, "weak_total"]
                 or row.loc[nid, "low_effective"])]
    return drop, reasons, kept


def _dimensions(nodes, wide: pd.DataFrame, total: pd.Series, method: str) -> pd.DataFrame:
    rows = []
    for nd in nodes:
        if nd.kind != "group" or len(nd.children) < 2:
            continue
        items = wide.reindex(columns=[c.id for c in nd.children if c.applies_to is None])
        share, kaiser = first_component_share(items)
        score = total if nd.id == "total" else wide[nd.id]
        k, n = items.shape[1], int(items.dropna().shape[0])
        meaningful = k < n
        caveat = "" if meaningful else (
            f"{k} parts ≥ {n} units with complete scores: their correlation matrix has rank at "
            f"most n − 1 = {n - 1}, so at least {k - n + 1} eigenvalue(s) are 0 by construction")
        rows.append({"dimension": nd.id, "label": nd.label or nd.id, "k": k, "n": n,
                     "alpha": cronbach_alpha(items), "pc1_share": share, "n_kaiser": kaiser,
                     "r_total": _corr_pair(score, total, method), "meaningful": meaningful,
                     "caveat": caveat})
    return pd.DataFrame(rows, columns=["dimension", "label", "k", "n", "alpha", "pc1_share",
                                       "n_kaiser", "r_total", "meaningful", "caveat"])


def _empty_agreement() -> pd.DataFrame:
    return pd.DataFrame(columns=["measure", "group", "value"])


def _agreement(comparison: Comparison, scheme: Scheme, level: str) -> pd.DataFrame:
    rows = []
    corr = comparison.correlations
    for r in corr.itertuples():
        rows.append({"measure": "Spearman rank correlation", "group": r.group, "value": r.spearman})
    whole = corr[corr["group"] == ALL_UNITS].iloc[0]
    rows.insert(1, {"measure": "Kendall rank correlation", "group": ALL_UNITS,
                    "value": whole["kendall"]})
    sc = comparison.scores
    for key, body in scheme.levels[level].consequences.items():
        if not isinstance(body, dict) or not ({"top", "bottom", "grades"} & set(body)):
            continue
        official = set(sc[(sc["scheme"] == "official") & (sc["outcome"] == key)]["unit"])
        kept = set(sc[(sc["scheme"] == "reduced") & (sc["outcome"] == key)]["unit"]) & official
        rows.append({"measure": f"share of the {body.get('label', key)} list kept",
                     "group": ALL_UNITS,
                     "value": len(kept) / len(official) if official else np.nan})
    return pd.DataFrame(rows, columns=["measure", "group", "value"])
