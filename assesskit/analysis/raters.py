"""How reliable is a rater-based review? Agreement, leniency and the stability of the grades.

Seed 003 criticises review-based scoring as subjective ("scoring by expert reading of reports and
hearings"). For a level scored by a review in an evaluation (Yingshan's "双述双评" of village first
secretaries, built-in scheme ``yingshan-first-secretaries``), :func:`analyse` measures

* **agreement** between raters: Kendall's W per aspect and session (pingouin's Friedman test,
  tie-corrected), the intraclass correlation ICC(2,1) and ICC(2,k) of the sheet points per
  session (two-way random effects, absolute agreement; pingouin), and Krippendorff's alpha for
  the ordinal grades per aspect (the ``krippendorff`` package, which handles the incomplete
  design of sessions);
* **leniency** of every rater and rater group — the rater's effect in a two-way model of the
  sheet points, relative to the mean rater of the first group (the assessment team), with
  confidence intervals (statsmodels OLS, heteroscedasticity-robust HC1);
* **sensitivity of the grades**: who changes grade when a rater group is removed, and the
  probability that each ratee's grade changes under a bootstrap re-draw of the raters within
  their groups and of who reports at the plenary (seeded, vectorised over a draws axis).

Every score and grade comes from the engine's kernels (:mod:`assesskit.engine.ratings`); nothing
here re-implements a scoring or grading rule.

Examples
--------
>>> import assesskit as ak
>>> from assesskit.analysis.raters import analyse
>>> data = ak.datasets.load("yingshan")
>>> ev = ak.evaluate("yingshan-first-secretaries", data, 2015)
>>> res = analyse(ev, data, n_draws=1000, seed=1)                           # doctest: +SKIP
>>> print(res.summary())                                                    # doctest: +SKIP
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd
import pingouin as pg
import statsmodels.api as sm

from ..data.model import Dataset
from ..engine.ratings import (
    ReviewResult,
    bootstrap_weights,
    grade_rule,
    panel_sizes,
    redraw_masks,
    review_scores,
)
from ..engine.review import review_result
from ..errors import DataError
from ..escape import md_text

__all__ = ["RaterAnalysis", "agreement", "analyse", "grade_bootstrap", "group_removal",
           "icc", "icc_forms", "kendall_w", "leniency", "narrative",
           "ordinal_alpha"]

#: Draws scored at once in the bootstrap; memory stays the same whatever ``n_draws``.
CHUNK = 250

_ICC_NAMES = {"ICC2": "ICC(2,1)", "ICC(A,1)": "ICC(2,1)", "ICC2k": "ICC(2,k)",
              "ICC(A,k)": "ICC(2,k)"}


# ============================================================================ agreement
def _long(review: ReviewResult) -> pd.DataFrame:
    """Usable ratings as a long table: ratee, rater, group, session, aspect, grade index."""
    s = review.sheets
    ok = review.usable[..., None] & (s.grade >= 0)
    i, r, a = np.nonzero(ok)
    return pd.DataFrame({"ratee": s.ratees[i], "rater": s.raters[r],
                         "group": np.asarray(s.groups, dtype=object)[s.rater_group[r]],
                         "session": review.panel.session[i],
                         "aspect": np.asarray(s.aspects, dtype=object)[a],
                         "grade": s.grade[i, r, a],
                         "points": s.points[i, r, a]})


def _complete(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """Ratee × rater table keeping the raters who rated every ratee of the frame."""
    wide = frame.pivot_table(index="ratee", columns="rater", values=value, aggfunc="first")
    return wide.dropna(axis=1)


def kendall_w(table: pd.DataFrame) -> tuple[float, float]:
    """Kendall's coefficient of concordance W (tie-corrected) of a raters × objects table.

    Parameters
    ----------
    table : DataFrame
        One row per rater (judge), one column per object, complete; higher values rank higher
        (values are ranked within each row, ties sharing the average rank).

    Returns
    -------
    (float, float)
        W and the p-value of Friedman's chi-square test ``Q = m (n − 1) W``.

    Notes
    -----
    ``W = 12 S / (m² (n³ − n) − m Σ T)``, ``S = Σ_j (R_j − m (n + 1) / 2)²`` over the objects'
    rank sums ``R_j``, ``T = Σ (t³ − t)`` over each rater's groups of ``t`` tied values
    (:func:`pingouin.friedman`, raters as subjects).

    References
    ----------
    Siegel, S. (1956). Nonparametric Statistics for the Behavioral Sciences, p. 229–238.
    """
    stacked = table.stack().rename("x").rename_axis(["rater", "object"]).reset_index()
    f = pg.friedman(stacked, dv="x", within="object", subject="rater")
    return float(f["W"].iloc[0]), float(f["p_unc"].iloc[0])


def icc_forms(table: pd.DataFrame) -> pd.DataFrame:
    """ICC(2,1) and ICC(2,k) of a complete ratees × raters table (pingouin).

    Returns
    -------
    DataFrame
        form, value, ci_low, ci_high — see :func:`icc` for the formulas.
    """
    long = table.stack().rename("x").rename_axis(["ratee", "rater"]).reset_index()
    with warnings.catch_warnings():
        # pingouin 0.7 calls a pandas method that pandas 3.1 deprecates; the numbers are
        # unaffected.
        warnings.filterwarnings("ignore", module="pingouin")
        warnings.filterwarnings("ignore", message=".*inplace keyword.*")
        t = pg.intraclass_corr(long, targets="ratee", raters="rater", ratings="x")
    t["form"] = t["Type"].map(_ICC_NAMES)
    t = t.dropna(subset=["form"])
    ci = np.asarray(t["CI95"].tolist() if "CI95" in t else t["CI95%"].tolist(), dtype=float)
    return pd.DataFrame({"form": t["form"].to_numpy(), "value": t["ICC"].to_numpy(dtype=float),
                         "ci_low": ci[:, 0], "ci_high": ci[:, 1]})


def ordinal_alpha(table: pd.DataFrame, domain) -> float:
    """Krippendorff's alpha, ordinal metric, of a raters × units table with NaN for no rating.

    Uses :func:`krippendorff.alpha` with ``level_of_measurement="ordinal"`` and the ordered
    ``domain`` of values.
    """
    return float(krippendorff.alpha(reliability_data=table.to_numpy(dtype=float),
                                    level_of_measurement="ordinal", value_domain=list(domain)))


def agreement(review: ReviewResult) -> pd.DataFrame:
    """Kendall's W per aspect and session, and Krippendorff's ordinal alpha per aspect.

    Parameters
    ----------
    review : ReviewResult

    Returns
    -------
    DataFrame
        One row per aspect and ``session`` (a session name, or ``"(all sessions)"`` for the
        alpha row): statistic (``kendall_w`` or ``krippendorff_alpha``), value, raters, ratees,
        p_value (Friedman chi-square test of W; empty for alpha).

    Notes
    -----
    Kendall's W (tie-corrected) ``W = 12 S / (m²(n³ − n) − m Σ T)``, with ``S`` the sum of
    squared deviations of the ratees' rank sums, ``m`` raters, ``n`` ratees and
    ``T = Σ (t³ − t)`` over tied groups; computed by :func:`pingouin.friedman` with the raters
    as subjects. W needs a complete block, so it uses the raters who rated **every** ratee of
    the session — the team and the township leaders; fellow secretaries never rate themselves,
    so their sheets are never complete and they enter only the alpha.

    Krippendorff's alpha ``α = 1 − D_o / D_e`` with the ordinal metric over the grades
    (:func:`krippendorff.alpha`, ``level_of_measurement="ordinal"``), on every usable rating of
    the aspect (missing cells allowed).

    References
    ----------
    Kendall, M. G. and Babington Smith, B. (1939). The problem of m rankings. Ann. Math.
    Statist. 10, 275–287. Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    """
    long = _long(review)
    rows = []
    domain = list(range(len(review.sheets.grade_labels)))
    for aspect in review.sheets.aspects:
        part = long[long["aspect"] == aspect]
        for session in review.panel.session_names:
            wide = _complete(part[part["session"] == session], "grade")
            if wide.shape[0] < 2 or wide.shape[1] < 2 or (wide.nunique().max() < 2):
                continue
            # raters × ratees; the grade index is 0 for the best grade, so negate it
            w, p = kendall_w(-wide.T)
            rows.append({"aspect": aspect, "session": session, "statistic": "kendall_w",
                         "value": w, "raters": wide.shape[1], "ratees": wide.shape[0],
                         "p_value": p})
        table = part.pivot_table(index="rater", columns="ratee", values="grade", aggfunc="first")
        alpha = ordinal_alpha(table, domain)
        rows.append({"aspect": aspect, "session": "(all sessions)",
                     "statistic": "krippendorff_alpha", "value": float(alpha),
                     "raters": table.shape[0], "ratees": table.shape[1], "p_value": np.nan})
    return pd.DataFrame(rows)


def icc(review: ReviewResult) -> pd.DataFrame:
    """ICC(2,1) and ICC(2,k) of the sheet points per session (pingouin).

    Returns
    -------
    DataFrame
        session, form (``ICC(2,1)``: one rater; ``ICC(2,k)``: the mean of the k raters), value,
        ci_low, ci_high (95 %), raters (k), ratees.

    Notes
    -----
    Two-way random effects, absolute agreement (Shrout & Fleiss 1979, case 2; McGraw & Wong
    1996 ICC(A,1), ICC(A,k)): ``ICC(2,1) = (MS_R − MS_E) / (MS_R + (k−1) MS_E + k (MS_C − MS_E)
    / n)`` and ``ICC(2,k) = (MS_R − MS_E) / (MS_R + (MS_C − MS_E) / n)``, with ``MS_R`` the mean
    square of ratees, ``MS_C`` of raters and ``MS_E`` the residual. Raters are taken as a random
    sample of possible raters and the grade rests on their **mean**, so ICC(2,k) is the
    reliability of the score as used. Only raters with a sheet for every ratee of the session
    enter (a complete design; see :func:`agreement`).

    References
    ----------
    Shrout, P. E. and Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
    reliability. Psychological Bulletin 86(2), 420–428.
    """
    s = review.sheets
    rows = []
    for session in review.panel.session_names:
        in_s = review.panel.session == session
        pts = pd.DataFrame(np.where(review.usable[in_s], review.sheet_points[in_s], np.nan),
                           index=s.ratees[in_s], columns=s.raters)
        wide = pts.dropna(axis=1)
        if wide.shape[0] < 3 or wide.shape[1] < 2:
            continue
        t = icc_forms(wide)
        t.insert(0, "session", session)
        t["raters"], t["ratees"] = wide.shape[1], wide.shape[0]
        rows.append(t)
    return pd.concat(rows, ignore_index=True)


# ============================================================================ leniency
def leniency(review: ReviewResult, level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leniency (+) or harshness (−) of every rater and rater group, in points, with intervals.

    Parameters
    ----------
    review : ReviewResult
    level : float
        Confidence level of the intervals.

    Returns
    -------
    raters : DataFrame
        rater, rater_group, label (the group's label), sheets, leniency, se, ci_low, ci_high.
    groups : DataFrame
        rater_group, label, raters, leniency (mean of its raters' effects), se, ci_low, ci_high.

    Notes
    -----
    The sheet points ``x_ir`` (aspect-weighted) follow the two-way model
    ``x_ir = θ_i + β_r + e_ir`` (ratee and rater fixed effects), fitted by least squares on the
    usable sheets (statsmodels OLS, HC1 standard errors, which allow each rater group its own
    noise). Rater effects are identified because the assessment team rates every session; the
    leniency of rater r is ``β_r − mean(β of the first group)`` and of group g
    ``mean_{r∈g} β_r − mean(β of the first group)`` — both estimable contrasts, tested with
    :meth:`statsmodels.regression.linear_model.RegressionResults.t_test`. A rater's leniency is
    thus "points above the average assessment-team member for the same ratee".
    """
    s = review.sheets
    i, r = np.nonzero(review.usable)
    y = review.sheet_points[i, r]
    n, R = len(s.ratees), len(s.raters)
    X = np.zeros((len(y), n + R))
    X[np.arange(len(y)), i] = 1.0
    X[np.arange(len(y)), n + r] = 1.0
    rated = review.usable.any(axis=0)               # raters left out have no effect to estimate
    ref = np.flatnonzero((s.rater_group == 0) & rated)
    if len(ref) == 0:
        raise DataError(f"no usable sheet of the first rater group {s.groups[0]!r}, the "
                        "reference of the leniency")
    # Fix the first reference rater's effect at 0 (full-rank design); the contrasts below are
    # estimable, so they do not depend on this normalisation.
    keep = np.ones(n + R, dtype=bool)
    keep[n + np.flatnonzero(~rated)] = False
    keep[n + ref[0]] = False
    fit = sm.OLS(y, X[:, keep]).fit(cov_type="HC1")
    base = np.zeros(n + R)
    base[n + ref] = 1.0 / len(ref)
    L = np.zeros((R, n + R))
    L[np.arange(R), n + np.arange(R)] = 1.0
    L -= base
    labels = {k: g["label"] for k, g in review.spec.rater_groups.items()}
    group_key = np.asarray(s.groups, dtype=object)[s.rater_group]
    rt = _contrasts(fit, L[:, keep], level, rows=rated)
    raters = pd.DataFrame({"rater": s.raters, "rater_group": group_key,
                           "label": [labels[g] for g in group_key],
                           "sheets": review.usable.sum(axis=0), **rt})
    G = np.zeros((len(s.groups), n + R))
    members = np.bincount(s.rater_group[rated], minlength=len(s.groups))
    for k in range(len(s.groups)):     # the rater groups (three)
        G[k, n + np.flatnonzero((s.rater_group == k) & rated)] = 1.0 / max(members[k], 1)
    G -= base
    groups = pd.DataFrame({"rater_group": s.groups, "label": [labels[g] for g in s.groups],
                           "raters": members, **_contrasts(fit, G[:, keep], level,
                                                           rows=members > 0)})
    return raters, groups


def _contrasts(fit, L: np.ndarray, level: float, rows: np.ndarray) -> dict:
    """Estimates, standard errors and intervals of the contrasts ``L`` (NaN where not rows)."""
    out = {k: np.full(len(L), np.nan) for k in ("leniency", "se", "ci_low", "ci_high")}
    zero = ~L[rows].any(axis=1)     # the reference itself when it is the only reference rater
    t = fit.t_test(L[rows][~zero]) if (~zero).any() else None
    idx = np.flatnonzero(rows)
    for k in out:
        out[k][idx[zero]] = 0.0
    if t is not None:
        ci = np.asarray(t.conf_int(alpha=1 - level))
        out["leniency"][idx[~zero]] = np.asarray(t.effect).ravel()
        out["se"][idx[~zero]] = np.asarray(t.sd).ravel()
        out["ci_low"][idx[~zero]], out["ci_high"][idx[~zero]] = ci[:, 0], ci[:, 1]
    return out


# ============================================================================ grades
def _grade_labels(review: ReviewResult) -> np.ndarray:
    return np.asarray([b[1] for b in review.spec.grades], dtype=object)


def group_removal(review: ReviewResult) -> pd.DataFrame:
    """Grades with each rater group removed (its weight re-shared among the others).

    Returns
    -------
    DataFrame
        One row per removed group and ratee: removed (group key), removed_label, unit, name,
        score, grade, score_without, grade_without, changed.
    """
    s = review.sheets
    gw = np.array([g["weight"] for g in review.spec.rater_groups.values()])
    # One row of group weights per removal: the removed group's weight is 0 and the kernel
    # re-normalises the others.
    variants = np.where(np.eye(len(gw), dtype=bool), 0.0, gw[None, :])
    labels = _grade_labels(review)
    base = review.scores
    rows = []
    for k, key in enumerate(s.groups):  # the rater groups (three)
        score, _ = review_scores(review.sheet_points, review.usable, s.rater_group, variants[k])
        idx = grade_rule(review.spec).score_index(score)
        rows.append(pd.DataFrame({
            "removed": key, "removed_label": review.spec.rater_groups[key]["label"],
            "unit": s.ratees, "name": base["name"].to_numpy(), "score": base["score"].to_numpy(),
            "grade": base["grade"].to_numpy(), "score_without": score,
            "grade_without": labels[idx]}))
    out = pd.concat(rows, ignore_index=True)
    out["changed"] = out["grade"] != out["grade_without"]
    return out


def grade_bootstrap(review: ReviewResult, data: Dataset, n_draws: int = 1000, seed: int = 0,
                    redraw_reporters: bool = True) -> pd.DataFrame:
    """Probability that each ratee's grade changes under a bootstrap of raters and reporters.

    Parameters
    ----------
    review : ReviewResult
    data : Dataset
        The dataset the review ran on (units: groups of the sessions).
    n_draws : int
        Bootstrap draws.
    seed : int
        Seed of :func:`numpy.random.default_rng`; recorded in the result.
    redraw_reporters : bool
        Also re-draw who reports at the plenary in every draw (else raters only).

    Returns
    -------
    DataFrame
        One row per ratee: unit, name, grade, p_change (share of draws with another grade),
        one column ``p_<grade>`` per grade, score_p05, score_p95.

    Notes
    -----
    In every draw, for each ratee and rater group, the sheets counted are drawn with
    replacement from the ratee's usable sheets of that group (:func:`bootstrap_weights`); with
    ``redraw_reporters`` the plenary is re-drawn (``k`` of ``n`` uniformly,
    :func:`redraw_masks`) and the number of sheets drawn per group is the size of the panel of
    the ratee's new session (:func:`panel_sizes`): at the plenary every township leader and the
    other ``k − 1`` reporters, in a group session the area's leaders and the other secretaries
    of the area who were not drawn. ASSUMPTION: raters of a group are exchangeable across
    sessions (a ratee's sheets from their actual session stand for those a re-drawn panel would
    have given); the data cannot show what a different panel would really have said. Draws are
    scored :data:`CHUNK` at a time, so memory does not grow with ``n_draws``.
    """
    if n_draws < 1:
        raise DataError(f"n_draws must be at least 1, not {n_draws}")
    rng = np.random.default_rng(seed)
    s = review.sheets
    gw = np.array([g["weight"] for g in review.spec.rater_groups.values()])
    labels = _grade_labels(review)
    rule = grade_rule(review.spec)
    observed = rule.score_index(review.scores["score"].to_numpy())
    n = len(s.ratees)
    counts = np.zeros((n, len(labels)))
    changed = np.zeros(n)
    lo_hi = []
    done = 0
    while done < n_draws:   # chunks of draws, not single draws
        b = min(CHUNK, n_draws - done)
        masks = redraw_masks(n, review.spec.draw_k, b, rng) if redraw_reporters else None
        size = panel_sizes(s, review.panel, review.usable, review.spec, data, masks)
        size = np.broadcast_to(size, (b, *size.shape[1:]))
        w = bootstrap_weights(review.usable, s.rater_group, size, rng)
        score, _ = review_scores(review.sheet_points, review.usable, s.rater_group, gw, w)
        idx = rule.score_index(score)
        counts += (idx[..., None] == np.arange(len(labels))).sum(axis=0)
        changed += (idx != observed[None, :]).sum(axis=0)
        lo_hi.append(np.percentile(score, [5, 95], axis=0))
        done += b
    # Percentiles are averaged over chunks (equal-sized but the last): an approximation that
    # keeps memory flat; the grade probabilities are exact counts.
    sizes = np.array([min(CHUNK, n_draws - c) for c in range(0, n_draws, CHUNK)], dtype=float)
    band = np.tensordot(sizes / sizes.sum(), np.stack(lo_hi), axes=1)
    out = pd.DataFrame({"unit": s.ratees, "name": review.scores["name"].to_numpy(),
                        "grade": review.scores["grade"].to_numpy(),
                        "p_change": changed / n_draws})
    for j, g in enumerate(labels):
        out[f"p_{g}"] = counts[:, j] / n_draws
    out["score_p05"], out["score_p95"] = band[0], band[1]
    return out


# ============================================================================ the result
@dataclass
class RaterAnalysis:
    """Reliability of a rater-based review.

    Attributes
    ----------
    review : ReviewResult
        The review analysed (scores, grades, draw, notices).
    agreement : DataFrame
        :func:`agreement`.
    icc : DataFrame
        :func:`icc`.
    raters, groups : DataFrame
        :func:`leniency`.
    removal : DataFrame
        :func:`group_removal`.
    stability : DataFrame
        :func:`grade_bootstrap`.
    n_draws, seed : int
    redraw_reporters : bool
    """

    review: ReviewResult
    agreement: pd.DataFrame
    icc: pd.DataFrame
    raters: pd.DataFrame
    groups: pd.DataFrame
    removal: pd.DataFrame
    stability: pd.DataFrame
    n_draws: int
    seed: int
    redraw_reporters: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per ratee: unit, name, session, drawn, score, grade, the grade without each
        rater group (``grade_without_<group>``), p_change and the grade probabilities."""
        t = self.review.scores[["unit", "name", "session", "drawn", "score", "grade"]].copy()
        wide = self.removal.pivot(index="unit", columns="removed", values="grade_without")
        for g in self.review.sheets.groups:
            t[f"grade_without_{g}"] = wide.loc[t["unit"], g].to_numpy()
        extra = self.stability.drop(columns=["name", "grade"]).set_index("unit")
        return t.join(extra, on="unit").reset_index(drop=True)

    def summary(self) -> str:
        """Plain text: the draw, the grades, agreement, leniency, and how stable the grades are."""
        r = self.review
        counts = r.scores["grade"].value_counts()
        grades = ", ".join(f"{g} {int(counts.get(g, 0))}" for g in _grade_labels(r))
        a = self.agreement
        w = a[a["statistic"] == "kendall_w"]["value"]
        alpha = a[a["statistic"] == "krippendorff_alpha"]["value"]
        icck = self.icc[self.icc["form"] == "ICC(2,k)"]["value"]
        lines = [
            f"Rater-based review of {len(r.scores)} units, period {r.sheets.period}: {grades}",
            f"Plenary draw: {r.spec.draw_k} drawn with seed {r.spec.draw_seed}: "
            f"{', '.join(r.panel.drawn)}",
            f"Agreement: Kendall's W {w.min():.2f}-{w.max():.2f} (per aspect and session); "
            f"Krippendorff's ordinal alpha {alpha.min():.2f}-{alpha.max():.2f} (per aspect); "
            f"ICC(2,k) of the mean sheet {icck.min():.2f}-{icck.max():.2f} (per session)",
            "Leniency (points above the mean " f"{self.groups['label'].iloc[0]}):",
        ]
        for k, g in enumerate(self.groups.itertuples()):
            lines.append(f"  {g.label}: reference" if k == 0 else
                         f"  {g.label}: {g.leniency:+.1f} [{g.ci_low:+.1f}, {g.ci_high:+.1f}]")
        for _, part in self.removal.groupby("removed", sort=False):
            ch = part[part["changed"]]
            who = ", ".join(f"{u} {a}→{b}" for u, a, b in
                            zip(ch["unit"], ch["grade"], ch["grade_without"], strict=True))
            lines.append(f"Without {part['removed_label'].iloc[0]}: {len(ch)} grade(s) change"
                         + (f" ({who})" if who else ""))
        st = self.stability
        what = "raters and plenary reporters" if self.redraw_reporters else "raters"
        lines.append(f"Bootstrap ({self.n_draws} draws of {what}, seed {self.seed}): mean "
                     f"probability of another grade {st['p_change'].mean():.2f}; "
                     f"{int((st['p_change'] >= 0.2).sum())} unit(s) change grade in at least "
                     "20% of draws")
        for n in r.notices:
            lines.append(f"Notice: {n.message}")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Leniency of every rater with its interval, by rater group (Chinese labels)."""
        from ..report.raters import plot_rater_leniency  # report layer draws; lazy on purpose

        return plot_rater_leniency(self, ax=ax)

    def _repr_html_(self) -> str:
        text = html.escape(self.summary())
        return f"<pre>{text}</pre>" + self.to_frame().to_html(index=False, escape=True)


def analyse(review, data: Dataset, *, level: str | None = None, n_draws: int = 1000,
            seed: int = 0, redraw_reporters: bool = True) -> RaterAnalysis:
    """Agreement, leniency and grade stability of a rater-based review.

    Parameters
    ----------
    review : Evaluation or ReviewResult
        An evaluation of a scheme with a level scored by a review (``ak.evaluate``), or the
        review itself (:func:`assesskit.engine.review.review_result`).
    data : Dataset
        The dataset the review ran on.
    level : str, optional
        The level scored by the review (default: the first such level of the scheme).
    n_draws : int
        Bootstrap draws for the grade stability.
    seed : int
        Seed of the bootstrap (recorded in the result and its summary).
    redraw_reporters : bool
        Re-draw who reports at the plenary as well as the raters.

    Returns
    -------
    RaterAnalysis

    Examples
    --------
    >>> import assesskit as ak
    >>> data = ak.datasets.load("yingshan")
    >>> ev = ak.evaluate("yingshan-first-secretaries", data, 2015)
    >>> res = analyse(ev, data, n_draws=50, seed=1)
    >>> res.review.spec.draw_k, len(res.to_frame())
    (15, 60)
    """
    if not isinstance(review, ReviewResult):
        review = review_result(review, level)
    if not review.spec.grades:
        raise DataError("the review has no grade bands (levels.<level>.grades); the analysis of "
                        "grades needs them")
    raters, groups = leniency(review)
    return RaterAnalysis(review=review, agreement=agreement(review), icc=icc(review),
                         raters=raters, groups=groups, removal=group_removal(review),
                         stability=grade_bootstrap(review, data, n_draws, seed,
                                                   redraw_reporters),
                         n_draws=n_draws, seed=seed, redraw_reporters=redraw_reporters)


def _provenance_sentence(kind: str) -> str:
    if kind == "synthetic":
        return ("The ratings are synthetic: the generator's leniency and noise are known, so "
                "the analysis can be checked against them, but nothing here describes real "
                "raters.")
    return (f"The dataset is marked {md_text(kind)}; no generator truth is known, so leniency "
            "cannot be checked against a known value.")


def narrative(res: RaterAnalysis, data_kind: str = "synthetic") -> str:
    """Markdown paragraphs on how objective the review is, computed from the results.

    Parameters
    ----------
    res : RaterAnalysis
    data_kind : str
        ``synthetic`` or ``real`` (the ``kind`` of the dataset): what the data can show.

    Returns
    -------
    str
        Markdown. Every number and name comes from ``res`` (names escaped); the text says what
        the data can and cannot show.
    """
    r = res.review
    a = res.agreement
    alpha = a[a["statistic"] == "krippendorff_alpha"].set_index("aspect")["value"]
    labels = {k: v["label"] for k, v in r.spec.aspects.items()}
    best, worst = alpha.idxmax(), alpha.idxmin()
    icck = res.icc[res.icc["form"] == "ICC(2,k)"]
    ic1 = res.icc[res.icc["form"] == "ICC(2,1)"]
    g = res.groups.set_index("rater_group")
    most = g["leniency"].idxmax()
    sig = g[(g["ci_low"] > 0) | (g["ci_high"] < 0)]
    st = res.stability
    share = float(st["p_change"].mean())
    unstable = st[st["p_change"] >= 0.2]
    grades = _grade_labels(r)
    lowest = grades[-1]
    low = r.scores[r.scores["grade"] == lowest]
    low_p = st.set_index("unit").loc[low["unit"], f"p_{lowest}"] if len(low) else pd.Series()
    removal = res.removal.groupby("removed_label", sort=False)["changed"].sum()
    weights = pd.Series({k: v["weight"] for k, v in r.spec.rater_groups.items()})
    lift = float((weights * g["leniency"].reindex(weights.index)).sum())
    remove_max = removal.idxmax()

    def level(x: float) -> str:
        return ("poor" if x < 0.4 else "fair" if x < 0.6 else "good" if x < 0.75
                else "excellent")

    parts = [
        f"**Agreement.** The reliability of a single rater's sheet is "
        f"{level(ic1['value'].median())} (median ICC(2,1) {ic1['value'].median():.2f} over "
        f"{len(ic1)} sessions); the grade rests on the mean of many sheets, whose reliability is "
        f"{level(icck['value'].median())} (median ICC(2,k) {icck['value'].median():.2f}, k = "
        f"{int(icck['raters'].min())}–{int(icck['raters'].max())} complete raters). Krippendorff's "
        f"ordinal alpha runs from {alpha.min():.2f} ({md_text(labels.get(worst, worst))}) to "
        f"{alpha.max():.2f} ({md_text(labels.get(best, best))}).",
        f"**Leniency.** {md_text(g.loc[most, 'label'])} rate most leniently: "
        f"{g.loc[most, 'leniency']:+.1f} points [{g.loc[most, 'ci_low']:+.1f}, "
        f"{g.loc[most, 'ci_high']:+.1f}] above the mean {md_text(g['label'].iloc[0])} member for the same "
        f"secretary. {len(sig)} of the {len(g) - 1} other rater group(s) differ from the "
        f"{md_text(g['label'].iloc[0])} beyond sampling error (95% interval excluding 0). With the scheme's group weights, leniency adds "
        f"{lift:+.1f} points to a secretary's score compared with a panel of "
        f"{md_text(g['label'].iloc[0])} alone.",
        f"**Stability of the grades.** Removing the rater group {md_text(remove_max)} changes the most grades "
        f"({int(removal.max())}); over {res.n_draws} bootstrap draws (seed {res.seed}) a "
        f"secretary's grade differs from the published one in {share:.0%} of draws on average, "
        f"and {len(unstable)} of {len(st)} change grade in at least a fifth of draws."
        + (f" The {len(low)} graded {md_text(lowest)} keep that grade in "
           f"{low_p.min():.0%}–{low_p.max():.0%} of draws." if len(low) else ""),
        f"**What the example data can and cannot show.** {_provenance_sentence(data_kind)} The bootstrap treats the raters of a group as exchangeable across sessions: it "
        "cannot show what a different panel would really have said about a secretary, only how "
        "much the grade depends on which of the observed sheets are counted. Agreement measures "
        "consistency, not validity: raters can agree and all be wrong.",
    ]
    notes = [n.message for n in r.notices]
    if notes:
        parts.append("**Decisions taken by the scheme's policies.** " + "; ".join(md_text(n) for n in notes) + ".")
    return "\n\n".join(parts)
