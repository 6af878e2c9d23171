"""Outcome validity (结果效度): do a scheme's scores track what happens afterwards?

A scheme's stated aim is to push development; the critique of assessment is that it rewards the
wrong things — above all the starting point. :func:`validity` scores the units with the scheme in
every period t (through :func:`assesskit.evaluate`, never re-implementing a rule), pairs each
score with a **later outcome** (the growth of an indicator from t to t + h, or a forward-looking
outcome indicator recorded at t) and asks four questions:

1. **Panel regressions** (statsmodels formula API): does the score at t predict the later
   outcome — pooled, within periods (period fixed effects), within units and periods (two-way
   fixed effects) — with and without the **baseline level of the outcome** as a control? With
   the control, a positive score coefficient means the score rewards *improvement* beyond what
   the starting point predicts; without it, the coefficient mixes both. Standard errors are
   clustered by unit.
2. **Ranks per regional group**: Spearman correlations of the score, and of being on a list
   (praised 通报表扬, summoned 约谈 …), with the later outcome, within each comparison group.
3. **Lists against peers**: do praised units grow faster afterwards than the rest of their group,
   and summoned units slower? Differences with a seeded cluster-bootstrap interval.
4. **Decomposition**: how much of the score's variance (within comparison groups) the baseline
   endowment (the level at t − 1) explains, and how much the change since the previous period —
   and a flag when the endowment dominates.

Examples
--------
>>> import assesskit as ak
>>> from assesskit.analysis.validity import validity
>>> ds = ak.datasets.load("sichuan-39")                                          # doctest: +SKIP
>>> res = validity("sichuan-39", ds, "outcome_gdp_pc_growth_3y",
...                baseline="gdp_per_capita", seed=1)                             # doctest: +SKIP
>>> print(res.summary())                                                          # doctest: +SKIP
>>> res.to_frame()                                                                # doctest: +SKIP
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ..data.model import Dataset, normalise_period, shift_period
from ..engine.evaluation import evaluate
from ..errors import DataError, Notice, Problem, SchemeError
from ..scheme.model import Scheme, load_scheme

__all__ = ["CHANGES", "SPECIFICATIONS", "Validity", "validity", "validity_or_reason"]

#: How the later outcome is made from the outcome indicator x: ``growth`` 100·(x[t+h]/x[t] − 1) %,
#: ``log_growth`` 100·ln(x[t+h]/x[t]), ``difference`` x[t+h] − x[t], ``value`` x[t+h] itself.
CHANGES = ("growth", "log_growth", "difference", "value")

#: The regression specifications: name -> (fixed effects, baseline control).
SPECIFICATIONS: dict[str, tuple[str, bool]] = {
    "pooled": ("none", False),
    "pooled + baseline": ("none", True),
    "period FE": ("period", False),
    "period FE + baseline": ("period", True),
    "two-way FE": ("unit+period", False),
    "two-way FE + baseline": ("unit+period", True),
}

#: Label of units without a comparison group.
NO_GROUP = "未分组 (no group)"
#: Value of ``period`` on rows that summarise every period.
ALL_PERIODS = "(all periods)"
#: Value of ``group`` on rows that summarise every group.
ALL_GROUPS = "(all groups)"

def _y_label(name: str, change: str, horizon: int) -> str:
    """Name of the later outcome as the tables and charts show it."""
    if change == "growth":
        return f"{name}增长率 (growth over {horizon} period(s))"
    if change == "log_growth":
        return f"{name} log growth over {horizon} period(s)"
    if change == "difference":
        return f"{name}变化 (change over {horizon} period(s))"
    return name if horizon == 0 else f"{name} ({horizon} period(s) later)"


def _esc(text) -> str:
    """Text from data made safe inside Markdown (no markup, no HTML)."""
    out = html.escape(str(text), quote=False)
    for ch in "\\`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return out


_COEF_COLUMNS = ["specification", "effects", "baseline_control", "term", "label", "coefficient",
                 "se", "t", "p", "ci_low", "ci_high", "n_obs", "n_units", "n_periods", "r2",
                 "cov"]
_BOOT_BLOCK = 256  # bootstrap draws per block: memory stays flat whatever n_boot is


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass
class Validity:
    """Result of :func:`validity`: does a scheme's score track later outcomes?

    Attributes
    ----------
    coefficients : DataFrame
        Tidy regression table, one row per specification and term (``score``, ``baseline`` and
        each control; intercepts and fixed effects are not listed): specification, effects
        (``none``, ``period``, ``unit+period``), baseline_control, term, label, coefficient, se
        (cluster-robust by unit), t, p, ci_low, ci_high (two-sided, level ``1 − alpha``), n_obs,
        n_units, n_periods, r2 (including the fixed effects) and cov.
    rank_correlations : DataFrame
        period (or :data:`ALL_PERIODS`), group, measure (``score`` or a consequence key), label,
        n, rho (Spearman), p. The :data:`ALL_PERIODS` rows are the n-weighted mean of the
        per-period coefficients.
    list_effects : DataFrame
        consequence, label, group (or :data:`ALL_GROUPS`), n_listed, n_peers, difference (mean
        later outcome of the listed units minus that of their group peers, averaged over group ×
        period cells weighted by the number listed), ci_low, ci_high (bootstrap percentile
        interval), n_boot, seed. Empty for a scheme without quotas.
    decomposition : DataFrame
        component (``endowment``, ``change``, ``both``, ``unexplained``), label, r2_alone,
        share (Lindeman–Merenda–Gold share of the score's variance within comparison groups), n.
    flags : dict
        ``baseline_dominated`` (bool, or None when the decomposition could not be made),
        ``dominance`` (the threshold).
    panel : DataFrame
        The estimation sample: unit, name, group, period, score, score_std, outcome_value (the
        later outcome), baseline, each control, consequence, consequence_label.
    left_out : DataFrame
        Unit-periods scored but not used, with the reason (no later observation, no baseline …).
    notices : list of Notice
        Every decision taken for the user (periods not scored, unit-periods left out,
        specifications not estimated); shown by :meth:`summary`.
    settings : dict
        Scheme, dataset, level, outcome, change, horizon, baseline, controls, periods, seed …
    """

    coefficients: pd.DataFrame
    rank_correlations: pd.DataFrame
    list_effects: pd.DataFrame
    decomposition: pd.DataFrame
    flags: dict
    panel: pd.DataFrame
    left_out: pd.DataFrame
    notices: list[Notice] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """The main tidy table: :attr:`coefficients` (coefficient, SE, CI, p, n, specification)."""
        return self.coefficients.copy()

    def score_coefficients(self) -> pd.DataFrame:
        """The rows of :attr:`coefficients` for the score, one per specification estimated."""
        return self.coefficients[self.coefficients["term"] == "score"].reset_index(drop=True)

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """Plain text for people: the data used, every coefficient of the score, ranks, lists,
        the decomposition and every notice."""
        s = self.settings
        lines = [f"Outcome validity of {s['scheme']} (level {s['level']}) on {s['dataset']}",
                 f"outcome: {s['outcome_text']}",
                 f"scores of periods {s['periods_text']}; {len(self.panel)} unit-periods, "
                 f"{self.panel['unit'].nunique()} units, {self.panel['period'].nunique()} periods"
                 f" ({len(self.left_out)} scored unit-periods left out, see notices)",
                 f"baseline control: {s['baseline_text']}",
                 f"score: {s['score_text']}"]
        if s["controls"]:
            lines.append(f"controls: {', '.join(s['controls'])}")
        lines.append(f"Coefficient of the score (SE clustered by unit; {s['ci_level']:.0%} CI, "
                     "t with units − 1 df):")
        for r in self.score_coefficients().itertuples(index=False):
            lines.append(f"  {r.specification:<22} {r.coefficient:+.3f} (SE {r.se:.3f}, CI "
                         f"{r.ci_low:+.3f} to {r.ci_high:+.3f}, p {r.p:.3g}), n {r.n_obs}")
        rc = self.rank_correlations
        overall = rc[(rc["period"] == ALL_PERIODS) & (rc["measure"] == "score")]
        if len(overall):
            lines.append("Spearman rank correlation of the score with the later outcome, within "
                         "each group (mean over periods):")
            lines += [f"  {r.group}: {r.rho:+.2f} (n {r.n})" for r in overall.itertuples()]
        le = self.list_effects
        for r in le[le["group"] == ALL_GROUPS].itertuples():
            lines.append(f"{r.label} vs group peers: later outcome {r.difference:+.2f} "
                         f"({s['ci_level']:.0%} bootstrap CI {r.ci_low:+.2f} to {r.ci_high:+.2f}; "
                         f"{r.n_listed} listed unit-periods, {r.n_boot} draws, seed {r.seed})")
        dec = self.decomposition.set_index("component")
        if len(dec):
            lines.append(
                f"Score variance within comparison groups (n {dec.loc['both', 'n']}): endowment "
                f"{dec.loc['endowment', 'share']:.0%}, change {dec.loc['change', 'share']:.0%}, "
                f"unexplained {dec.loc['unexplained', 'share']:.0%}"
                + (" -> FLAG: the score is dominated by baseline endowment"
                   if self.flags.get("baseline_dominated") else ""))
        if self.notices:
            lines.append("Notices:")
            lines += [f"  - {n}" for n in self.notices]
        return "\n".join(lines)

    def narrative(self) -> str:
        """What the numbers say, and what they cannot, as Markdown computed from this result.

        Every sentence is built from the tables (signs, intervals, shares, counts), so it stays
        true for any scheme, dataset and parameters; it ends with the limits of the design.
        """
        s = self.settings
        md = _esc
        coef = self.score_coefficients().set_index("specification")
        n_units, n_periods = self.panel["unit"].nunique(), self.panel["period"].nunique()
        unit = f" {s['outcome_unit']}" if s["outcome_unit"] else ""
        per = "per standard deviation of the score" if s["standardise"] else "per point of score"
        out = [f"**{md(s['scheme'])}** scores of {n_units} units over {n_periods} period(s) "
               f"({md(s['periods_text'])}) against **{md(s['outcome_label'])}** "
               f"({md(s['outcome'])}).", ""]

        def verdict(spec: str) -> str:
            r = coef.loc[spec]
            if r["ci_low"] > 0:
                word = "higher scores went with **higher**"
            elif r["ci_high"] < 0:
                word = "higher scores went with **lower**"
            else:
                word = "**no clear relation** between the score and"
            return (f"{word} later {md(s['outcome_label'])} ({r['coefficient']:+.2f}{unit} "
                    f"{per}, {s['ci_level']:.0%} CI {r['ci_low']:+.2f} to {r['ci_high']:+.2f})")

        for plain, controlled, what in (
                ("period FE", "period FE + baseline", "Comparing units within the same period"),
                ("pooled", "pooled + baseline", "Pooling every unit-period")):
            if plain in coef.index and controlled in coef.index:
                out.append(f"- {what}, {verdict(plain)}; holding the starting level of "
                           f"{md(s['baseline'])} fixed, {verdict(controlled)}.")
                break
        if "two-way FE" in coef.index:
            r = coef.loc["two-way FE"]
            then = ("followed by better outcomes" if r["ci_low"] > 0 else
                    "followed by worse outcomes (a return towards its own average)"
                    if r["ci_high"] < 0 else "not clearly followed by better or worse outcomes")
            out.append(f"- Within each unit over time (two-way fixed effects), "
                       f"{verdict('two-way FE')}: a unit's *own* better-scored years are {then}.")
        rc = self.rank_correlations
        overall = rc[(rc["period"] == ALL_PERIODS) & (rc["measure"] == "score")].dropna(
            subset=["rho"])
        if len(overall):
            parts = ", ".join(f"{md(g)} {r:+.2f}" for g, r in zip(overall["group"],
                                                                   overall["rho"], strict=True))
            out.append(f"- Rank correlation of score and later outcome within each group "
                       f"(mean over periods): {parts}.")
        for r in self.list_effects[self.list_effects["group"] == ALL_GROUPS].itertuples():
            sure = (r.ci_low > 0) or (r.ci_high < 0)
            out.append(f"- Units on the list {md(r.label)} later did {abs(r.difference):.2f}{unit} "
                       f"{'better' if r.difference > 0 else 'worse'} than their group peers "
                       f"({s['ci_level']:.0%} bootstrap CI {r.ci_low:+.2f} to {r.ci_high:+.2f}"
                       f"{'' if sure else ', which includes 0'}).")
        if not s["consequences"]:
            out.append("- The scheme names no praise or summons list at this level, so there "
                       "is no list to compare with its peers.")
        dec = self.decomposition.set_index("component")
        if len(dec):
            flag = self.flags["baseline_dominated"]
            out.append(f"- Within comparison groups, the baseline endowment ({md(s['baseline'])} "
                       f"at t−1) accounts for {dec.loc['endowment', 'share']:.0%} of the score's "
                       f"variance and the change since t−1 for {dec.loc['change', 'share']:.0%}"
                       + (": **the score is dominated by the starting point**." if flag else
                          "; the score is not dominated by the starting point."))
        source = s["outcome_source"].lower()
        kind = ("synthetic (generated, not official statistics)" if "synthetic" in source
                else "from the source named in the dataset" if source else "of unstated origin")
        left = len(self.left_out)
        out += ["", "**Limits.**",
                f"- {n_units} units and {n_periods} period(s): "
                + ("few units, so intervals are wide and one unit can move a group's correlation"
                   if n_units < 100 else "enough units for the cross-section")
                + (f"; only {n_periods} period(s), so within-unit estimates rest on little "
                   "change" if n_periods < 10 else f"; {n_periods} periods whose outcome windows "
                   "can overlap, so periods are not independent (SEs are clustered by unit for "
                   "this reason)") + ".",
                "- Association, not effect: scores and later outcomes share causes the "
                "regression does not see (effort, local shocks, the data a scheme scores), "
                "scores can respond to expected outcomes, and with unit effects and a baseline "
                "the short-panel (Nickell) bias applies.",
                f"- The outcome values are {kind}: {md(s['outcome_source'])}."]
        if left:
            out.append(f"- {left} scored unit-period(s) had no usable later outcome and are "
                       "left out (listed in `left_out`).")
        return "\n".join(out)

    def __repr__(self) -> str:
        s = self.settings
        return (f"Validity(scheme={s['scheme']!r}, outcome={s['outcome']!r}, "
                f"n_obs={len(self.panel)}, specifications={self.coefficients['specification'].nunique()})")

    def _repr_html_(self) -> str:
        s = self.settings
        head = (f"<p><b>Outcome validity</b> of {html.escape(str(s['scheme']))} on "
                f"{html.escape(str(s['dataset']))}: {html.escape(s['outcome_text'])}</p>")
        table = self.score_coefficients()[["specification", "coefficient", "se", "ci_low",
                                           "ci_high", "p", "n_obs"]]
        notes = "".join(f"<li>{html.escape(str(n))}</li>" for n in self.notices)
        return (head + table.to_html(index=False, escape=True, float_format="{:.3f}".format)
                + (f"<ul>{notes}</ul>" if notes else ""))

    # ------------------------------------------------------------------ charts
    def plot(self, kind: str = "coefficients", *, title: str | None = None):
        """A chart of the result (a matplotlib Figure; call
        :func:`assesskit.report.plotting.use_cjk_font` first so Chinese names render).

        Parameters
        ----------
        kind : {"coefficients", "scatter", "lists"}
            ``coefficients``: the score's coefficient in every specification with its confidence
            interval. ``scatter``: score at t against the later outcome (minus its period mean),
            coloured by group. ``lists``: later outcome of the listed units minus their group
            peers, per consequence and group, with the bootstrap interval.
        title : str, optional
            Replaces the default title.
        """
        if kind == "coefficients":
            return _plot_coefficients(self, title)
        if kind == "scatter":
            return _plot_scatter(self, title)
        if kind == "lists":
            return _plot_lists(self, title)
        raise ValueError(f"kind must be 'coefficients', 'scatter' or 'lists', not {kind!r}")


# --------------------------------------------------------------------------------------------
# the verb
# --------------------------------------------------------------------------------------------
def validity(scheme, data: Dataset, outcome: str, *, horizon: int | None = None,
             change: str | None = None, baseline: str | None = None,
             baseline_transform: str | None = None, controls: Sequence[str] = (),
             level: str | None = None, periods: Iterable | None = None,
             standardise: bool = True, n_boot: int = 2000, seed: int = 0,
             alpha: float = 0.05, dominance: float = 0.5) -> Validity:
    """Do a scheme's scores at period t track outcomes after t?

    Parameters
    ----------
    scheme : Scheme, str, dict or DataFrame
        The scheme (a built-in name, a YAML path, a dict), evaluated with
        :func:`assesskit.evaluate` in every period; or a table of scores with columns ``unit``,
        ``period``, ``score`` (optional ``group``, ``outcome``, ``outcome_label``) to test any
        other measure the same way.
    data : Dataset
        The dataset the scheme is applied to; it holds the outcome indicator.
    outcome : str
        Indicator code of the outcome. An ordinary indicator (a level such as GDP per capita) is
        turned into its change from t to t + horizon; an indicator of role ``outcome`` is
        already forward-looking (e.g. growth over the following three years, recorded at t) and
        is used as recorded.
    horizon : int, optional
        Periods ahead the outcome is measured: the later outcome of a score at t uses the
        outcome indicator at t + horizon. Default 1, or 0 for an indicator of role ``outcome``.
    change : {"growth", "log_growth", "difference", "value"}, optional
        See :data:`CHANGES`. Default ``growth``, or ``value`` for role ``outcome``.
    baseline : str, optional
        Indicator whose level at t is the baseline control (and, at t − 1, the endowment of the
        decomposition). Default the outcome indicator itself; required for a forward-looking
        outcome (name the level it grows from, e.g. ``gdp_per_capita``).
    baseline_transform : {"log", "level"}, optional
        Default ``log`` for growth outcomes (convergence regressions use the log starting level),
        else ``level``.
    controls : sequence of str
        More controls: indicator codes (value at t) or numeric columns of the units table (fixed
        per unit; absorbed by unit fixed effects, so left out of the two-way specifications with a
        notice).
    level : str, optional
        Assessed level of the scheme; default the first level it lists.
    periods : iterable, optional
        Periods whose scores are used. Default every period whose outcome lies inside the data;
        leading periods the scheme cannot score (a change rule without the previous period) are
        then skipped with a notice.
    standardise : bool
        Divide the score by its standard deviation over the estimation sample (and centre it), so
        that a coefficient is the change in the outcome per 1 SD of the score (default True).
    n_boot : int
        Bootstrap draws for the list intervals (default 2000).
    seed : int
        Seed of the bootstrap (recorded in :attr:`Validity.list_effects` and ``settings``).
    alpha : float
        1 − confidence level of every interval (default 0.05).
    dominance : float
        The score is flagged as dominated by baseline endowment when the endowment's share of its
        variance is at least this (default 0.5, more than half) and larger than the change's.

    Returns
    -------
    Validity

    Raises
    ------
    DataError
        The outcome (baseline, a control) is not in the data; the horizon reaches beyond the last
        period; fewer units than parameters; a constant outcome or score; no unit-period left.
    SchemeError
        Unknown level.

    Notes
    -----
    **Regressions.** For unit i and period t, with y the later outcome, s the score, b the
    baseline and x the controls,
    :math:`y_{it} = \\beta s_{it} + \\gamma b_{it} + \\delta' x_{it} + \\alpha_i + \\tau_t +
    \\varepsilon_{it}`, where the specifications keep neither, only τ (period fixed effects),
    or both α and τ (two-way), and drop or keep γ. Estimated by OLS with
    :func:`statsmodels.formula.api.ols` (fixed effects as dummies). Standard errors are
    cluster-robust by unit with the small-sample factor
    :math:`\\frac{G}{G-1}\\frac{N-1}{N-K}` (G units, N observations, K parameters including
    every dummy); p-values and intervals use Student's t with G − 1 degrees of freedom — the
    Stata ``vce(cluster)`` convention, statsmodels' ``use_correction`` and ``df_correction``.
    The tests check the two-way estimates and SEs against :class:`linearmodels.PanelOLS`
    (``debiased=True, group_debias=True``) to 1e-6. With the baseline and unit effects together
    the baseline coefficient suffers the Nickell (1981) bias of short panels; read the
    two-way + baseline row with that in mind.

    **Decomposition.** Within each comparison group and period (the scheme's ``group_by``), the
    score is regressed on the endowment :math:`e = f(x_{t-1})` and the change
    :math:`c = 100\\ln(x_t/x_{t-1})` (log transform) or :math:`x_t - x_{t-1}` (level) of the
    baseline indicator x. The joint R² is split with the Lindeman–Merenda–Gold (LMG) rule, the
    mean over both orders of entry:
    :math:`\\text{share}_e = \\tfrac12[R^2_e + (R^2_{ec} - R^2_c)]` and likewise for c.

    **Lists against peers.** In each group × period cell the difference is the mean later
    outcome of the listed units minus that of the other units of the cell; cells are averaged
    with weights equal to the number listed. The interval is a percentile cluster bootstrap:
    units are resampled with replacement within their group (all their periods together), the
    stream ``numpy.random.default_rng(seed)``.

    References
    ----------
    Cameron, A. C., & Miller, D. L. (2015). A practitioner's guide to cluster-robust inference.
    *Journal of Human Resources*, 50(2), 317–372.
    Grömping, U. (2006). Relative importance for linear regression in R: the package relaimpo.
    *Journal of Statistical Software*, 17(1).
    Nickell, S. (1981). Biases in dynamic models with fixed effects. *Econometrica*, 49(6).

    Examples
    --------
    >>> ds = ak.datasets.load("hdr-2023")                                          # doctest: +SKIP
    >>> res = validity("undp-hdi", ds, "gnipc", horizon=5, periods=range(1995, 2018, 5))
    ... # doctest: +SKIP
    >>> res.score_coefficients()[["specification", "coefficient", "p"]]           # doctest: +SKIP
    """
    if not isinstance(data, Dataset):
        raise TypeError("data must be an assesskit Dataset (see assesskit.datasets.load)")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha!r}")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be at least 1, not {n_boot!r}")
    notices: list[Notice] = []
    info = _indicator(data, outcome, "outcome")
    forward = info["role"] == "outcome"
    change = change or ("value" if forward else "growth")
    if change not in CHANGES:
        raise ValueError(f"change must be one of {CHANGES}, not {change!r}")
    horizon = (0 if forward and change == "value" else 1) if horizon is None else int(horizon)
    if horizon < 0 or (horizon == 0 and change != "value"):
        raise DataError(f"horizon {horizon} does not measure a change of {outcome!r}; give a "
                        "horizon of at least 1 period (0 only with change='value')")
    if baseline is None:
        if forward and change == "value":
            raise DataError(
                f"outcome {outcome!r} is forward-looking (role outcome: {info['description']}); "
                "name the indicator whose starting level it grows from with baseline=, e.g. "
                "baseline='gdp_per_capita', so that the score can be separated from the "
                "starting point")
        baseline = outcome
    base_info = _indicator(data, baseline, "baseline")
    baseline_transform = baseline_transform or (
        "log" if change in ("growth", "log_growth") or forward else "level")
    if baseline_transform not in ("log", "level"):
        raise ValueError(f"baseline_transform must be 'log' or 'level', not {baseline_transform!r}")
    controls = [str(c) for c in controls]

    # ---- scores in every period
    all_periods = data.periods
    usable = _usable_periods(data, outcome, horizon, periods, all_periods)
    if isinstance(scheme, pd.DataFrame):
        scores, label, level = _scores_from_table(scheme, data, usable), "custom scores", \
            level or "(custom)"
        listed = scores[scores["consequence"] != ""]
        consequences = dict(zip(listed["consequence"], listed["consequence_label"], strict=True))
    else:
        if not isinstance(scheme, Scheme):
            scheme = load_scheme(scheme)
        level = _level(scheme, level)
        scores = _scores_from_scheme(scheme, data, level, usable, explicit=periods is not None,
                                     notices=notices)
        label = scheme.name + (f" [variant: {scheme.log[-1].get('note') or scheme.log[-1]['change']}]"
                               if scheme.log else "")
        consequences = _consequences(scheme, level)

    # ---- the panel: later outcome, baseline, controls
    panel, left_out = _build_panel(data, scores, outcome, change, horizon, baseline,
                                   baseline_transform, controls, notices)
    _check_panel(panel, outcome, controls)
    if standardise:
        sd = float(panel["score"].std(ddof=1))
        panel["score_std"] = (panel["score"] - panel["score"].mean()) / sd
        score_text = f"{label}, standardised (coefficients per 1 SD = {sd:.3g} points)"
    else:
        panel["score_std"] = panel["score"]
        score_text = f"{label}, as scored (coefficients per point)"

    coefficients = _regressions(panel, controls, base_info, baseline_transform, alpha, notices)
    ranks = _rank_correlations(panel, consequences)
    lists = _list_effects(panel, consequences, int(n_boot), int(seed), alpha)
    decomposition = _decomposition(data, panel, baseline, baseline_transform, notices)
    share = decomposition.set_index("component")["share"] if len(decomposition) else None
    flags = {"dominance": dominance, "baseline_dominated": None if share is None else bool(
        share["endowment"] >= dominance and share["endowment"] > share["change"])}

    when = "t" if horizon == 0 else f"t+{horizon}"
    what = {"growth": f"growth (%) from t to {when}", "log_growth": f"log growth (100·ln) from t "
            f"to {when}", "difference": f"change from t to {when}", "value": f"value at {when}"}
    outcome_text = (f"{outcome} ({info['name']}, {info['unit_of_measure'] or 'no unit'}) — "
                    f"{what[change]}" + (f"; forward-looking: {info['description']}"
                                         if forward else ""))
    settings = {
        "scheme": label, "dataset": data.name, "level": level, "outcome": outcome,
        "outcome_label": _y_label(info["name"] or outcome, change, horizon),
        "outcome_unit": "%" if change == "growth" else "100·ln" if change == "log_growth"
        else info["unit_of_measure"],
        "outcome_text": outcome_text, "change": change, "horizon": horizon,
        "baseline": baseline, "baseline_transform": baseline_transform,
        "baseline_text": f"{'log ' if baseline_transform == 'log' else ''}{baseline} "
                         f"({base_info['name']}) at t",
        "controls": controls, "periods": sorted(panel["period"].unique().tolist()),
        "periods_text": _span(sorted(panel["period"].unique().tolist())),
        "standardise": standardise, "score_text": score_text, "n_boot": int(n_boot),
        "seed": int(seed), "alpha": alpha, "ci_level": 1 - alpha,
        "consequences": consequences,
        "outcome_source": str(data.indicators.set_index("indicator").loc[outcome, "source"]),
    }
    return Validity(coefficients, ranks, lists, decomposition, flags, panel, left_out, notices,
                    settings)


def validity_or_reason(scheme, data: Dataset, outcome: str, **kwargs) -> tuple[Validity | None,
                                                                              str]:
    """Run :func:`validity`, or say why it cannot apply; for notebooks and reports.

    Parameters
    ----------
    scheme, data, outcome, **kwargs
        As for :func:`validity`.

    Returns
    -------
    result : Validity or None
        None when the analysis does not apply (the outcome is not in the data, the horizon
        reaches beyond it, too few units ...).
    markdown : str
        :meth:`Validity.narrative`, or the reason it does not apply with the outcome indicators
        the dataset does have (names escaped).
    """
    try:
        res = validity(scheme, data, outcome, **kwargs)
    except (DataError, SchemeError) as exc:
        name = getattr(scheme, "name", "custom scores" if isinstance(scheme, pd.DataFrame)
                       else scheme)
        outcomes = data.indicators.loc[data.indicators["role"] == "outcome", "indicator"]
        return None, (f"**This analysis does not apply** to `{_esc(name)}` on dataset "
                      f"`{_esc(data.name)}` with outcome `{_esc(outcome)}`: {_esc(exc)}\n\n"
                      "Indicators of role *outcome* in this dataset: "
                      + (", ".join(f"`{_esc(c)}`" for c in outcomes) if len(outcomes)
                         else "none (a later outcome can also be the growth of an ordinary "
                              "level indicator, with horizon ≥ 1)") + ".")
    return res, res.narrative()


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------
def _indicator(data: Dataset, code: str, what: str) -> dict:
    known = data.indicators.set_index("indicator")
    if code not in known.index:
        listing = ", ".join(f"{c} ({r})" for c, r in known["role"].items())
        raise DataError(f"{what} {code!r} is not an indicator of dataset {data.name!r}; its "
                        f"indicators (role) are: {listing}")
    row = known.loc[code]
    return {"name": str(row["name"] or code), "unit_of_measure": str(row["unit_of_measure"]),
            "description": str(row["description"]), "role": str(row["role"])}


def _level(scheme: Scheme, level: str | None) -> str:
    listed = list(scheme.spec["levels"])
    if level is None:
        return listed[0]
    if level not in scheme.levels:
        raise SchemeError(f"scheme {scheme.name!r} has no level {level!r}; levels: {listed}",
                          key="levels")
    return level


def _span(periods: list[str]) -> str:
    if not periods:
        return "(none)"
    return periods[0] if len(periods) == 1 else f"{periods[0]}–{periods[-1]}"


def _usable_periods(data: Dataset, outcome: str, horizon: int, periods, all_periods) -> list[str]:
    """Periods whose later outcome (t + horizon) lies inside the data."""
    present = set(all_periods)
    last = all_periods[-1]
    if periods is None:
        usable = [p for p in all_periods if shift_period(p, horizon) in present]
        if not usable:
            raise DataError(f"horizon {horizon} reaches beyond the last period of dataset "
                            f"{data.name!r} ({last}) from every period ({_span(all_periods)}); "
                            "choose a shorter horizon")
        return usable
    wanted = [normalise_period(p) for p in periods]
    problems = [Problem(f"period {p} is not in dataset {data.name!r} (periods: "
                        f"{_span(all_periods)})") for p in wanted if p not in present]
    problems += [Problem(f"horizon {horizon} from period {p} reaches {shift_period(p, horizon)}, "
                         f"beyond the last period of dataset {data.name!r} ({last}); use periods "
                         f"up to {shift_period(last, -horizon)} or a shorter horizon")
                 for p in wanted if p in present and shift_period(p, horizon) not in present]
    if problems:
        raise DataError(problems, title=f"cannot relate the scores to {outcome!r} "
                                        f"{horizon} period(s) later")
    if not wanted:
        raise DataError("periods is empty; give at least one period or leave it out")
    return list(dict.fromkeys(wanted))


def _consequences(scheme: Scheme, level: str) -> dict[str, str]:
    """Consequence key -> label of the lists a level's quotas make (top / bottom / grades)."""
    out = {}
    for key, body in scheme.levels[level].consequences.items():
        if isinstance(body, dict) and ({"top", "bottom", "grades"} & set(body)):
            out[str(key)] = str(body.get("label", key))
    return out


def _group_column(scheme: Scheme, level: str) -> str:
    return scheme.levels[level].ranking.get("group_by") or "group"


def _scores_from_scheme(scheme: Scheme, data: Dataset, level: str, periods: list[str], *,
                        explicit: bool, notices: list[Notice]) -> pd.DataFrame:
    """Evaluate the scheme in every period; leading periods it cannot score are noted."""
    group_col = _group_column(scheme, level)
    groups = data.units.set_index("unit")[group_col] if group_col in data.units.columns else None
    frames, skipped = [], []
    for p in periods:
        try:
            ev = evaluate(scheme, data, p, levels=[level])
        except DataError as exc:
            if explicit or frames:  # only leading periods are skipped (no previous period)
                raise
            skipped.append((p, str(exc).splitlines()[-1].strip(" -")))
            continue
        sc = ev.scores[ev.scores["level"] == level]
        frames.append(pd.DataFrame({
            "unit": sc["unit"].to_numpy(), "name": sc["name"].to_numpy(), "period": ev.period,
            "group": (sc["unit"].map(groups) if groups is not None else sc["group"]).to_numpy(),
            "score": sc["score"].to_numpy(dtype=float),
            "consequence": sc["outcome"].to_numpy(), "consequence_label":
                sc["outcome_label"].to_numpy()}))
    if skipped:
        notices.append(Notice("periods_not_scored", "; ".join(
            f"period {p} not scored: {why}" for p, why in skipped), where="periods"))
    if not frames:
        raise DataError(f"the scheme {scheme.name!r} scores no period of {_span(periods)}: "
                        + "; ".join(f"{p}: {why}" for p, why in skipped))
    out = pd.concat(frames, ignore_index=True)
    out["group"] = out["group"].fillna("").astype(str).replace("", NO_GROUP)
    return out


def _scores_from_table(table: pd.DataFrame, data: Dataset, periods: list[str]) -> pd.DataFrame:
    missing = [c for c in ("unit", "period", "score") if c not in table.columns]
    if missing:
        raise DataError(f"the scores table lacks the column(s) {missing}; it needs unit, period, "
                        "score (optional group, outcome, outcome_label)")
    t = table.copy()
    t["unit"] = t["unit"].astype(str)
    t["period"] = t["period"].map(normalise_period)
    t = t[t["period"].isin(periods)]
    unknown = sorted(set(t["unit"]) - set(data.units["unit"]))
    if unknown:
        raise DataError(f"the scores table names units not in dataset {data.name!r}: {unknown}")
    names = data.units.set_index("unit")
    out = pd.DataFrame({
        "unit": t["unit"].to_numpy(), "name": t["unit"].map(names["name"]).to_numpy(),
        "period": t["period"].to_numpy(),
        "group": (t["group"] if "group" in t else t["unit"].map(names["group"])).to_numpy(),
        "score": pd.to_numeric(t["score"]).to_numpy(dtype=float),
        "consequence": (t["outcome"] if "outcome" in t else pd.Series("", index=t.index))
        .to_numpy(),
        "consequence_label": (t["outcome_label"] if "outcome_label" in t
                              else pd.Series("", index=t.index)).to_numpy()})
    out["group"] = out["group"].fillna("").astype(str).replace("", NO_GROUP)
    out["consequence"] = out["consequence"].fillna("").astype(str)
    out["consequence_label"] = out["consequence_label"].fillna("").astype(str)
    return out.reset_index(drop=True)


def _values_at(data: Dataset, code: str, keys: pd.DataFrame, shift: int) -> np.ndarray:
    """Value of indicator ``code`` for each (unit, period + shift) row of ``keys`` (NaN: none)."""
    v = data.values[data.values["indicator"] == code]
    lookup = pd.Series(v["value"].to_numpy(dtype=float),
                       index=pd.MultiIndex.from_arrays([v["unit"], v["period"]]))
    lookup = lookup[~lookup.index.duplicated()]
    shifted = {p: shift_period(p, shift) for p in keys["period"].unique()}
    idx = pd.MultiIndex.from_arrays([keys["unit"], keys["period"].map(shifted)])
    return lookup.reindex(idx).to_numpy(dtype=float)


def _unit_column(data: Dataset, column: str, units: pd.Series) -> np.ndarray:
    raw = data.units.set_index("unit")[column]
    text = raw.astype(str).str.strip()
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = numbers.isna() & (text != "") & (text.str.lower() != "nan")
    if bad.any():
        raise DataError([Problem("control must be a number", data.sources.get("units"),
                                 column=column, value=raw[u]) for u in raw.index[bad][:20]],
                        title=f"control {column!r} of the units table is not numeric")
    return units.map(numbers).to_numpy(dtype=float)


def _build_panel(data, scores, outcome, change, horizon, baseline, baseline_transform, controls,
                 notices) -> tuple[pd.DataFrame, pd.DataFrame]:
    panel = scores.copy()
    later = _values_at(data, outcome, panel, horizon)
    start = _values_at(data, outcome, panel, 0)
    reasons = pd.Series("", index=panel.index, dtype=object)
    kinds = pd.Series("", index=panel.index, dtype=object)

    def leave(mask, kind, why):
        """Mark rows left out; the first reason found for a row is kept."""
        mask = np.asarray(mask) & (reasons.to_numpy() == "")
        reasons[mask] = why[mask] if isinstance(why, pd.Series) else why
        kinds[mask] = kind

    later_period = panel["period"].map(lambda p: shift_period(p, horizon))
    leave(np.isnan(later), f"no later observation of {outcome}",
          "no value of " + outcome + " in " + later_period)
    if change != "value":
        leave(np.isnan(start), f"no value of {outcome} at the start",
              "no value of " + outcome + " in " + panel["period"])
        if change in ("growth", "log_growth"):
            leave(start <= 0, f"{outcome} not positive at the start (growth undefined)",
                  f"{outcome} at the start is not positive")
    with np.errstate(divide="ignore", invalid="ignore"):
        y = {"growth": 100.0 * (later / start - 1.0),
             "log_growth": 100.0 * np.log(later / start),
             "difference": later - start, "value": later}[change]
    panel["outcome_value"] = y

    base = _values_at(data, baseline, panel, 0)
    leave(np.isnan(base), f"no value of the baseline {baseline}",
          "no value of " + baseline + " in " + panel["period"])
    if baseline_transform == "log":
        leave(base <= 0, f"baseline {baseline} not positive (log undefined)",
              f"{baseline} is not positive")
        with np.errstate(divide="ignore", invalid="ignore"):
            base = np.log(base)
    panel["baseline"] = base

    codes = set(data.indicators["indicator"])
    for c in controls:
        if c in codes:
            panel[c] = _values_at(data, c, panel, 0)
        elif c in data.units.columns and c not in ("unit", "name", "name_en", "level", "parent"):
            panel[c] = _unit_column(data, c, panel["unit"])
        else:
            extra = [k for k in data.units.columns if k not in ("unit", "name", "name_en",
                                                                  "level", "parent")]
            raise DataError(f"control {c!r} is neither an indicator of dataset {data.name!r} nor "
                            f"a column of its units table; indicators: {sorted(codes)}; unit "
                            f"columns: {extra}")
        leave(np.isnan(panel[c].to_numpy(dtype=float)), f"no value of the control {c}",
              "no value of " + c + " in " + panel["period"])
    leave(np.isnan(panel["score"].to_numpy(dtype=float)), "no score", "no score")

    out = (reasons != "").to_numpy()
    left_out = panel.loc[out, ["unit", "name", "group", "period"]].assign(
        kind=kinds[out].to_numpy(), reason=reasons[out].to_numpy()).reset_index(drop=True)
    for kind, part in left_out.groupby("kind", sort=False):
        who = ", ".join(f"{n} ({u}) {p}" for u, n, p in
                        part[["unit", "name", "period"]].itertuples(index=False, name=None))
        notices.append(Notice(
            "left_out", f"{len(part)} scored unit-period(s) left out of every estimate, "
            f"{kind}: {who}", where=outcome))
    return panel[~out].reset_index(drop=True), left_out


def _check_panel(panel: pd.DataFrame, outcome: str, controls: list[str]) -> None:
    if panel.empty:
        raise DataError(f"no unit-period has both a score and a later outcome {outcome!r}; see "
                        "the periods, the horizon and the values present")
    if panel["outcome_value"].nunique() < 2:
        raise DataError(f"the later outcome {outcome!r} is constant "
                        f"({panel['outcome_value'].iloc[0]:g}) over the {len(panel)} "
                        "unit-periods used; there is nothing for the score to predict")
    if panel["score"].nunique() < 2:
        raise DataError(f"the score is constant ({panel['score'].iloc[0]:g}) over the "
                        f"{len(panel)} unit-periods used; it cannot predict anything")
    terms = ["intercept", "score", "baseline", *controls]
    n_units = panel["unit"].nunique()
    if n_units <= len(terms):
        raise DataError(f"fewer units than parameters: {n_units} unit(s) have a score and a "
                        f"later outcome {outcome!r}, but the regression estimates {len(terms)} "
                        f"parameters ({', '.join(terms)}) and clustered standard errors need more "
                        f"units than that (at least {len(terms) + 1}); add units or drop controls")


# --------------------------------------------------------------------------------------------
# regressions
# --------------------------------------------------------------------------------------------
def _varies_within(panel: pd.DataFrame, column: str, by: str) -> bool:
    spread = panel.groupby(by)[column].agg(lambda s: float(np.ptp(s.to_numpy(dtype=float))))
    return bool((spread > 1e-12).any())


def _matrix_rank(X: np.ndarray) -> int:
    """Numerical rank of a design from its QR factor (cheaper than an SVD on wide dummies)."""
    diag = np.abs(np.diag(np.linalg.qr(X, mode="r")))
    return int((diag > diag.max() * max(X.shape) * np.finfo(float).eps).sum())


def _regressions(panel, controls, base_info, baseline_transform, alpha, notices) -> pd.DataFrame:
    from threadpoolctl import threadpool_limits

    # The designs are tall and narrow (a few thousand rows, a few hundred dummies): one BLAS
    # thread factors them in well under a second, while several threads on a shared, loaded
    # machine spin and can take 50 times longer (measured: QR of 4137 x 215, 0.08 s vs 4 s).
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_specifications(panel, controls, base_info, baseline_transform, alpha,
                                   notices)


def _fit_specifications(panel, controls, base_info, baseline_transform, alpha,
                        notices) -> pd.DataFrame:
    import statsmodels.formula.api as smf

    frame = pd.DataFrame({"y": panel["outcome_value"], "s": panel["score_std"],
                          "b": panel["baseline"], "unit": panel["unit"].astype(str),
                          "period": panel["period"].astype(str)})
    names = {"s": ("score", "score"),
             "b": ("baseline", f"{'log ' if baseline_transform == 'log' else ''}"
                               f"{base_info['name']} at t")}
    for i, c in enumerate(controls):
        frame[f"c{i}"] = panel[c].to_numpy(dtype=float)
        names[f"c{i}"] = (c, c)
    clusters = pd.factorize(frame["unit"])[0]
    n_units = int(clusters.max()) + 1
    rows = []
    for spec, (effects, with_base) in SPECIFICATIONS.items():
        terms = ["s"] + (["b"] if with_base else []) + [f"c{i}" for i in range(len(controls))]
        absorbed = []
        if effects == "unit+period":
            absorbed = [t for t in terms if not _varies_within(frame, t, "unit")]
        elif effects == "period":
            absorbed = [t for t in terms if not _varies_within(frame, t, "period")]
        if "s" in absorbed:
            notices.append(Notice("specification_skipped", f"{spec}: the score does not vary "
                                  "within " + ("units" if effects == "unit+period" else "periods")
                                  + ", so the fixed effects absorb it; not estimated",
                                  where=spec))
            continue
        if absorbed:
            notices.append(Notice("control_absorbed", f"{spec}: "
                                  + ", ".join(names[t][0] for t in absorbed)
                                  + " does not vary within units; absorbed by the fixed effects "
                                  "and left out of this specification", where=spec))
            terms = [t for t in terms if t not in absorbed]
        fe = {"none": "", "period": " + C(period)", "unit+period": " + C(unit) + C(period)"}
        formula = "y ~ " + " + ".join(terms) + fe[effects]
        model = smf.ols(formula, data=frame)
        k = model.exog.shape[1]
        if len(frame) <= k or _matrix_rank(model.exog) < k:
            notices.append(Notice("specification_skipped", f"{spec}: {k} parameters for "
                                  f"{len(frame)} observations, or collinear regressors; not "
                                  "estimated", where=spec))
            continue
        with warnings.catch_warnings():
            # statsmodels warns when clusters are few; the count is reported in every row
            warnings.simplefilter("ignore", category=UserWarning)
            # QR rather than the default pseudo-inverse: one SVD less on a wide dummy design
            fit = model.fit(method="qr", cov_type="cluster", use_t=True,
                            cov_kwds={"groups": clusters, "use_correction": True,
                                      "df_correction": True})
        ci = fit.conf_int(alpha=alpha)
        for t in terms:
            rows.append({"specification": spec, "effects": effects, "baseline_control": with_base,
                         "term": names[t][0], "label": names[t][1],
                         "coefficient": float(fit.params[t]), "se": float(fit.bse[t]),
                         "t": float(fit.tvalues[t]), "p": float(fit.pvalues[t]),
                         "ci_low": float(ci.loc[t, 0]), "ci_high": float(ci.loc[t, 1]),
                         "n_obs": int(fit.nobs), "n_units": n_units,
                         "n_periods": int(frame["period"].nunique()), "r2": float(fit.rsquared),
                         "cov": f"cluster(unit), {n_units} clusters"})
    if not rows:
        raise DataError("no regression specification could be estimated; see the notices: "
                        + "; ".join(str(n) for n in notices if n.kind == "specification_skipped"))
    return pd.DataFrame(rows, columns=_COEF_COLUMNS)


# --------------------------------------------------------------------------------------------
# ranks, lists, decomposition
# --------------------------------------------------------------------------------------------
def _spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan, np.nan
    res = stats.spearmanr(a, b)
    return float(res.statistic), float(res.pvalue)


def _rank_correlations(panel: pd.DataFrame, consequences: dict[str, str]) -> pd.DataFrame:
    measures = {"score": "score"} | consequences
    rows = []
    for (period, group), cell in panel.groupby(["period", "group"], sort=True):
        y = cell["outcome_value"].to_numpy(dtype=float)
        for key, label in measures.items():
            x = (cell["score"].to_numpy(dtype=float) if key == "score"
                 else (cell["consequence"] == key).to_numpy(dtype=float))
            rho, p = _spearman(x, y)
            rows.append({"period": period, "group": group, "measure": key, "label": label,
                         "n": len(cell), "rho": rho, "p": p})
    table = pd.DataFrame(rows, columns=["period", "group", "measure", "label", "n", "rho", "p"])
    summary = []
    for (group, key), part in table.groupby(["group", "measure"], sort=False):
        ok = part["rho"].notna()
        w = part.loc[ok, "n"].to_numpy(dtype=float)
        rho = float(np.average(part.loc[ok, "rho"], weights=w)) if ok.any() else np.nan
        summary.append({"period": ALL_PERIODS, "group": group, "measure": key,
                        "label": part["label"].iloc[0], "n": int(part["n"].sum()), "rho": rho,
                        "p": np.nan})
    return pd.concat([table, pd.DataFrame(summary, columns=table.columns)], ignore_index=True)


def _list_effects(panel, consequences, n_boot, seed, alpha) -> pd.DataFrame:
    columns = ["consequence", "label", "group", "n_listed", "n_peers", "difference", "ci_low",
               "ci_high", "n_boot", "seed"]
    if not consequences:
        return pd.DataFrame(columns=columns)
    units, unit_index = np.unique(panel["unit"].to_numpy(dtype=str), return_inverse=True)
    unit_group = pd.Series(panel["group"].to_numpy(), index=unit_index).groupby(level=0).first()
    cell_index = panel.groupby(["group", "period"], sort=True).ngroup().to_numpy()
    cells = np.arange(cell_index.max() + 1)
    cell_group = panel.groupby(cell_index)["group"].first().to_numpy(dtype=object)
    y = panel["outcome_value"].to_numpy(dtype=float)
    onehot = np.zeros((len(panel), len(cells)))
    onehot[np.arange(len(panel)), cell_index] = 1.0
    groups = sorted(set(cell_group))

    def stat(w: np.ndarray, listed: np.ndarray) -> dict[str, np.ndarray]:
        """Weighted statistic per group and overall for unit weights w (draws × units)."""
        wo = w[:, unit_index]                                 # draws × observations
        n_l = (wo * listed) @ onehot
        n_p = (wo * ~listed) @ onehot
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = ((wo * listed * y) @ onehot) / n_l - ((wo * ~listed * y) @ onehot) / n_p
        valid = (n_l > 0) & (n_p > 0)
        weight = np.where(valid, n_l, 0.0)
        diff = np.where(valid, diff, 0.0)
        out = {}
        for g in [*groups, ALL_GROUPS]:
            cols = np.ones(len(cells), bool) if g == ALL_GROUPS else cell_group == g
            wsum = weight[:, cols].sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[g] = np.where(wsum > 0, (weight[:, cols] * diff[:, cols]).sum(axis=1)
                                  / wsum, np.nan)
        return out

    rows = []
    for key, label in consequences.items():
        listed = (panel["consequence"] == key).to_numpy()
        point = stat(np.ones((1, len(units))), listed)
        boot = {g: [] for g in point}
        # the same seed for every list: the draws are the same units, so lists are comparable
        for block in _bootstrap_counts(unit_group.to_numpy(dtype=str), n_boot, seed):
            for g, v in stat(block, listed).items():
                boot[g].append(v)
        for g in point:
            cols = np.ones(len(cells), bool) if g == ALL_GROUPS else cell_group == g
            in_g = np.isin(cell_index, np.flatnonzero(cols))
            values = np.concatenate(boot[g])
            finite = values[np.isfinite(values)]
            lo, hi = ((np.nan, np.nan) if len(finite) == 0 else
                      np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
            rows.append({"consequence": key, "label": label, "group": g,
                         "n_listed": int((listed & in_g).sum()),
                         "n_peers": int((~listed & in_g).sum()),
                         "difference": float(point[g][0]), "ci_low": float(lo),
                         "ci_high": float(hi), "n_boot": n_boot, "seed": seed})
    return pd.DataFrame(rows, columns=columns)


def _bootstrap_counts(unit_group: np.ndarray, n_boot: int, seed: int):
    """Blocks of multinomial counts (draws × units): units resampled within their group."""
    rng = np.random.default_rng(seed)
    members = {g: np.flatnonzero(unit_group == g) for g in sorted(set(unit_group))}
    for start in range(0, n_boot, _BOOT_BLOCK):
        b = min(_BOOT_BLOCK, n_boot - start)
        counts = np.zeros((b, len(unit_group)))
        for idx in members.values():
            counts[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=b)
        yield counts


def _r2(y: np.ndarray, *xs: np.ndarray) -> float:
    X = np.column_stack(xs)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    return float(1.0 - resid @ resid / (y @ y))


def _decomposition(data, panel, baseline, transform, notices) -> pd.DataFrame:
    columns = ["component", "label", "r2_alone", "share", "n"]
    now = _values_at(data, baseline, panel, 0)
    before = _values_at(data, baseline, panel, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "log":
            endowment, change = np.log(before), 100.0 * np.log(now / before)
        else:
            endowment, change = before, now - before
    frame = pd.DataFrame({"score": panel["score"].to_numpy(dtype=float), "e": endowment,
                          "c": change, "cell": panel["group"] + "|" + panel["period"]})
    ok = np.isfinite(frame[["e", "c"]]).all(axis=1)
    if (~ok).any():
        who = ", ".join(f"{n} ({u}) {p}" for u, n, p in panel.loc[~ok.to_numpy(), [
            "unit", "name", "period"]].itertuples(index=False, name=None))
        notices.append(Notice("decomposition_left_out", f"{int((~ok).sum())} unit-period(s) have "
                              f"no value of {baseline} in the previous period (or a non-positive "
                              f"one), left out of the decomposition: {who}",
                              where="decomposition"))
    frame = frame[ok]
    # within comparison group and period: the differences a ranking sees
    demeaned = frame[["score", "e", "c"]] - frame.groupby("cell")[["score", "e", "c"]] \
        .transform("mean")
    s, e, c = (demeaned[k].to_numpy() for k in ("score", "e", "c"))
    if len(frame) < 4 or s @ s == 0 or e @ e == 0 or c @ c == 0:
        notices.append(Notice("decomposition_skipped", "too few unit-periods, or no variation "
                              "within groups, to decompose the score's variance",
                              where="decomposition"))
        return pd.DataFrame(columns=columns)
    r_e, r_c, r_ec = _r2(s, e), _r2(s, c), _r2(s, e, c)
    share_e = 0.5 * (r_e + (r_ec - r_c))
    share_c = 0.5 * (r_c + (r_ec - r_e))
    what = "log " if transform == "log" else ""
    n = len(frame)
    return pd.DataFrame([
        {"component": "endowment", "label": f"baseline endowment: {what}{baseline} at t−1",
         "r2_alone": r_e, "share": share_e, "n": n},
        {"component": "change", "label": f"change of {baseline} since t−1", "r2_alone": r_c,
         "share": share_c, "n": n},
        {"component": "both", "label": "endowment and change together", "r2_alone": r_ec,
         "share": r_ec, "n": n},
        {"component": "unexplained", "label": "neither", "r2_alone": np.nan,
         "share": 1.0 - r_ec, "n": n},
    ], columns=columns)


# --------------------------------------------------------------------------------------------
# charts (matplotlib Figures, no pyplot state)
# --------------------------------------------------------------------------------------------
_GROUP_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
                  "#000000"]


def _plot_coefficients(res: Validity, title):
    from matplotlib.figure import Figure

    table = res.score_coefficients()
    fig = Figure(figsize=(7.5, 1.2 + 0.45 * len(table)), layout="constrained")
    ax = fig.subplots()
    pos = np.arange(len(table))[::-1]
    colours = np.where(table["baseline_control"], "#D55E00", "#0072B2")
    ax.errorbar(table["coefficient"], pos, xerr=[table["coefficient"] - table["ci_low"],
                                                 table["ci_high"] - table["coefficient"]],
                fmt="none", ecolor="0.4", capsize=3)
    ax.scatter(table["coefficient"], pos, c=colours, zorder=3)
    ax.axvline(0, color="0.3", lw=0.8, ls="--")
    ax.set_yticks(pos, table["specification"])
    s = res.settings
    unit = f" ({s['outcome_unit']})" if s["outcome_unit"] else ""
    per = "per 1 SD of the score" if s["standardise"] else "per point of score"
    ax.set_xlabel(f"effect on {s['outcome_label']}{unit} {per}")
    ax.set_ylabel("specification")
    ax.set_title(title or f"{s['scheme']}: 得分与后续结果 score at t vs later outcome "
                          f"({s['ci_level']:.0%} CI, SE clustered by unit)", fontsize=10)
    return fig


def _plot_scatter(res: Validity, title):
    from matplotlib.figure import Figure

    p = res.panel
    y = p["outcome_value"] - p.groupby("period")["outcome_value"].transform("mean")
    fig = Figure(figsize=(7.5, 5), layout="constrained")
    ax = fig.subplots()
    for i, (group, part) in enumerate(p.groupby("group", sort=True)):
        ax.scatter(part["score"], y[part.index], s=18, alpha=0.8,
                   color=_GROUP_COLOURS[i % len(_GROUP_COLOURS)], label=f"{group} ({len(part)})")
    s = res.settings
    unit = f" ({s['outcome_unit']})" if s["outcome_unit"] else ""
    ax.axhline(0, color="0.5", lw=0.7)
    ax.set_xlabel(f"得分 score at t ({s['scheme']})")
    ax.set_ylabel(f"{s['outcome_label']}{unit}, minus the period mean")
    ax.legend(title="组 group (unit-periods)", fontsize=8, title_fontsize=8, loc="best")
    ax.set_title(title or f"得分与后续增长 score at t and the later outcome, {s['periods_text']}",
                 fontsize=10)
    return fig


def _plot_lists(res: Validity, title):
    from matplotlib.figure import Figure

    le = res.list_effects
    fig = Figure(figsize=(7.5, 1.6 + 0.4 * max(len(le), 1)), layout="constrained")
    ax = fig.subplots()
    s = res.settings
    if le.empty:
        ax.text(0.5, 0.5, f"{s['scheme']} has no praise or summons lists at this level",
                ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    pos = np.arange(len(le))[::-1]
    ok = le["ci_low"].notna()
    ax.errorbar(le.loc[ok, "difference"], pos[ok.to_numpy()],
                xerr=[le.loc[ok, "difference"] - le.loc[ok, "ci_low"],
                      le.loc[ok, "ci_high"] - le.loc[ok, "difference"]],
                fmt="none", ecolor="0.4", capsize=3)
    colours = [_GROUP_COLOURS[list(s["consequences"]).index(k) % len(_GROUP_COLOURS)]
               for k in le["consequence"]]
    ax.scatter(le["difference"], pos, c=colours, zorder=3)
    ax.axvline(0, color="0.3", lw=0.8, ls="--")
    ax.set_yticks(pos, [f"{lab} — {g} ({n})" for lab, g, n in
                        le[["label", "group", "n_listed"]].itertuples(index=False, name=None)],
                  fontsize=8)
    unit = f" ({s['outcome_unit']})" if s["outcome_unit"] else ""
    ax.set_xlabel(f"later {s['outcome_label']}{unit}: listed minus group peers")
    ax.set_ylabel("名单 — 组 list — group (listed unit-periods)")
    ax.set_title(title or f"名单单位的后续表现 later outcome of listed units vs their peers\n"
                          f"({s['ci_level']:.0%} bootstrap CI, {s['n_boot']} draws, seed "
                          f"{s['seed']})", fontsize=10)
    return fig
