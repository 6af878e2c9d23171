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
import math
import numbers
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

#: Draws scored at once in the bootstrap (default); memory stays the same whatever ``n_draws``.
CHUNK = 250
#: Draws per random stream ``default_rng([seed, block])``: results do not depend on the chunk.
DRAW_BLOCK = 50
#: Bins per ratee and level of the exact percentile search (see :func:`grade_bootstrap`).
HIST_BINS = 2048
#: Most scores kept per ratee and wanted rank; a fuller bin is split again.
KEEP_MOST = 2048
#: Levels of splitting after which a bin's scores are kept whatever their number.
MAX_LEVELS = 8

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
                    redraw_reporters: bool = True, chunk_size: int | None = None) -> pd.DataFrame:
    """Probability that each ratee's grade changes under a bootstrap of raters and reporters.

    Parameters
    ----------
    review : ReviewResult
    data : Dataset
        The dataset the review ran on (units: groups of the sessions).
    n_draws : int
        Bootstrap draws.
    seed : int
        Seed of the draws; recorded in the result. Block ``j`` of :data:`DRAW_BLOCK` draws uses
        ``numpy.random.default_rng([seed, j])``.
    redraw_reporters : bool
        Also re-draw who reports at the plenary in every draw (else raters only).
    chunk_size : int, optional
        Draws scored at once (rounded up to whole blocks; default :data:`CHUNK`). It bounds
        memory and changes nothing in the result.

    Returns
    -------
    DataFrame
        One row per ratee: unit, name, grade, p_change (share of draws with another grade),
        one column ``p_<grade>`` per grade, score_p05, score_p95 (5th and 95th percentiles of
        the bootstrapped score: exactly :func:`numpy.percentile` of all draws, linear method).

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
    have given); the data cannot show what a different panel would really have said.

    Grades are those of the engine's rule (:func:`grade_rule`): a score gets the first band
    whose threshold it reaches, ``score ≥ threshold`` (inclusive). ``p_<grade>`` and
    ``p_change`` are exact counts over the draws.

    Memory does not grow with ``n_draws``: draws are scored ``chunk_size`` at a time, and each
    block of :data:`DRAW_BLOCK` draws has its own random stream, so the draws (and the result)
    do not depend on the chunk size. The percentiles use the linear method of
    :func:`numpy.percentile` (Hyndman & Fan type 7): with ``N`` draws and ``h = (N − 1) q``,
    ``P_q = x_(⌊h⌋) + (h − ⌊h⌋)(x_(⌊h⌋+1) − x_(⌊h⌋))`` with ``x_(k)`` the k-th smallest score
    (from 0). The order statistics are found exactly without keeping the draws: a first pass
    counts every ratee's scores in :data:`HIST_BINS` bins between its lowest and highest
    sheet points (a score is a weighted mean of sheets, so it lies in that range); a second
    pass re-generates the same draws and keeps only the scores in the bin that holds the wanted
    rank (at most :data:`KEEP_MOST` per ratee and rank; a fuller bin is split again into
    :data:`HIST_BINS` bins in a further pass). A ratee with a missing score in any draw gets
    NaN, as :func:`numpy.percentile` does.

    References
    ----------
    Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages. The American
    Statistician 50(4), 361–365.

    Examples
    --------
    >>> import assesskit as ak
    >>> from assesskit.engine.review import review_result
    >>> data = ak.datasets.load("yingshan")
    >>> review = review_result(ak.evaluate("yingshan-first-secretaries", data, 2015))
    >>> a = grade_bootstrap(review, data, n_draws=120, seed=3, chunk_size=50)
    >>> b = grade_bootstrap(review, data, n_draws=120, seed=3, chunk_size=120)
    >>> a.equals(b)
    True
    """
    if n_draws < 1:
        raise DataError(f"n_draws must be at least 1, not {n_draws}")
    if chunk_size is not None and (not isinstance(chunk_size, numbers.Integral)
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    s = review.sheets
    labels = _grade_labels(review)
    rule = grade_rule(review.spec)
    observed = rule.score_index(review.scores["score"].to_numpy())
    n = len(s.ratees)

    def draws():
        return _bootstrap_scores(review, data, n_draws, seed, redraw_reporters,
                                 chunk_size or CHUNK)

    counts = np.zeros((n, len(labels)), np.int64)
    changed = np.zeros(n, np.int64)

    def count_grades(score):
        idx = rule.score_index(score)
        counts[:] += (idx[..., None] == np.arange(len(labels))).sum(axis=0)
        changed[:] += (idx != observed[None, :]).sum(axis=0)

    # A score is a weighted mean of the ratee's usable sheets: it lies between their extremes.
    pts = np.where(review.usable, review.sheet_points, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # a ratee without any usable sheet
        low, high = np.nanmin(pts, axis=1), np.nanmax(pts, axis=1)
    band = _streamed_percentiles(draws, n_draws, (5.0, 95.0), low, high, first_pass=count_grades)
    out = pd.DataFrame({"unit": s.ratees, "name": review.scores["name"].to_numpy(),
                        "grade": review.scores["grade"].to_numpy(),
                        "p_change": changed / n_draws})
    for j, g in enumerate(labels):
        out[f"p_{g}"] = counts[:, j] / n_draws
    out["score_p05"], out["score_p95"] = band[0], band[1]
    return out


def _bootstrap_scores(review: ReviewResult, data: Dataset, n_draws: int, seed: int,
                      redraw_reporters: bool, chunk: int):
    """Bootstrapped scores ``(b, n)``, chunk by chunk of whole blocks of :data:`DRAW_BLOCK`
    draws; block ``j`` draws from ``default_rng([seed, j])`` whatever the chunk size."""
    s = review.sheets
    gw = np.array([g["weight"] for g in review.spec.rater_groups.values()])
    n = len(s.ratees)
    blocks = math.ceil(n_draws / DRAW_BLOCK)
    per = max(1, math.ceil(chunk / DRAW_BLOCK))          # blocks per chunk
    for first in range(0, blocks, per):                   # chunks of draws, not single draws
        block = range(first, min(blocks, first + per))    # blocks of DRAW_BLOCK draws
        rngs = [np.random.default_rng([seed, j]) for j in block]
        sizes = [min(DRAW_BLOCK, n_draws - j * DRAW_BLOCK) for j in block]
        # each block draws its plenary, then its sheets, from its own stream
        masks = (np.concatenate([redraw_masks(n, review.spec.draw_k, b, rng)
                                 for b, rng in zip(sizes, rngs, strict=True)])
                 if redraw_reporters else None)
        panel = panel_sizes(s, review.panel, review.usable, review.spec, data, masks)
        panel = np.broadcast_to(panel, (sum(sizes), *panel.shape[1:]))
        ends = np.cumsum(sizes)
        weights = [bootstrap_weights(review.usable, s.rater_group, panel[end - b:end], rng)
                   for b, end, rng in zip(sizes, ends, rngs, strict=True)]
        score, _ = review_scores(review.sheet_points, review.usable, s.rater_group, gw,
                                 np.concatenate(weights))
        yield score


def _streamed_percentiles(chunks, n_draws: int, percents, low, high, first_pass=None):
    """Exact percentiles per column of a stream of ``(b, n)`` chunks, in flat memory.

    Parameters
    ----------
    chunks : callable
        Returns a fresh iterator over the same chunks (``n_draws`` rows in all) on each call.
    n_draws : int
    percents : sequence of float
        Percentiles in [0, 100].
    low, high : ndarray, shape (n,)
        Bounds of every column's values (values outside are binned at the edges: still exact).
    first_pass : callable, optional
        Called with every chunk of the first pass (to count other things on the way).

    Returns
    -------
    ndarray, shape (len(percents), n)
        :func:`numpy.percentile` of the columns (linear method); NaN for a column with a NaN.
    """
    q = np.asarray(percents, float) / 100.0
    h = (n_draws - 1) * q                                  # numpy's virtual index (linear)
    below_rank = np.floor(h).astype(np.int64)
    gamma = h - below_rank
    above_rank = np.minimum(below_rank + 1, n_draws - 1)
    ranks = np.concatenate([below_rank, above_rank])        # (T,) order statistics wanted
    n, T, B = len(low), len(ranks), HIST_BINS
    lo = np.nan_to_num(np.asarray(low, float))
    # a span of at least a few ulps, so that bins always split a cell of distinct values
    span = np.maximum(np.nan_to_num(np.asarray(high, float)) - lo,
                      1e-9 * np.maximum(np.abs(lo), 1.0))
    scale = B / span
    # The cell of every (column, rank): the values whose bin is `chosen` at every level.
    origins, scales, chosen = [], [], []
    value = np.full((n, T), np.nan)
    open_ = np.ones((n, T), bool)
    rank_in = np.broadcast_to(ranks, (n, T)).copy()          # rank within the current cell
    in_cell = np.full((n, T), n_draws, np.int64)            # values in the current cell
    has_nan = np.zeros(n, bool)
    level = 0
    while open_.any():
        # keep the values of a small cell; past MAX_LEVELS (never seen: each level narrows a
        # cell by HIST_BINS) keep them whatever the size, so that the loop ends
        collect = open_ & ((in_cell <= KEEP_MOST) | (level >= MAX_LEVELS))
        split = open_ & ~collect
        if level == 0:
            a, sc = np.broadcast_to(lo[:, None], (n, T)), np.broadcast_to(scale[:, None], (n, T))
        else:
            # the chosen bin of the last level, split again into B bins
            a = origins[-1] + chosen[-1] / scales[-1]
            sc = scales[-1] * B
        hist = np.zeros((n, T, B), np.int64)
        cmin, cmax = np.full((n, T), np.inf), np.full((n, T), -np.inf)
        if collect.any():   # the values of each kept cell, padded with +inf
            kept = np.full((n, T, int(in_cell[collect].max())), np.inf)
            filled = np.zeros((n, T), np.int64)
        for x in chunks():
            if level == 0:
                has_nan |= np.isnan(x).any(axis=0)
                if first_pass is not None:
                    first_pass(x)
            xs = np.nan_to_num(x)[:, :, None]                # (b, n, 1)
            member = np.ones((len(x), n, T), bool)
            for o, s_, c in zip(origins, scales, chosen, strict=True):
                member &= _bin_of(xs, o, s_, B) == c
            if collect.any():
                m = member & collect
                slot = filled[None] + np.cumsum(m, axis=0) - 1   # where each value goes
                d, i, t = np.nonzero(m)
                kept[i, t, np.minimum(slot[d, i, t], kept.shape[2] - 1)] = xs[d, i, 0]
                filled += m.sum(axis=0)
            if split.any():
                m = member & split
                idx = _bin_of(xs, a, sc, B)
                flat = ((np.arange(n)[:, None] * T + np.arange(T)) * B)[None] + idx
                hist += np.bincount(flat[m], minlength=n * T * B).reshape(n, T, B)
                cmin = np.minimum(cmin, np.where(m, xs, np.inf).min(axis=0))
                cmax = np.maximum(cmax, np.where(m, xs, -np.inf).max(axis=0))
        if collect.any():
            i, t = np.nonzero(collect)
            if not np.array_equal(filled[i, t], in_cell[i, t]):
                raise RuntimeError("internal error: a cell of the percentile search changed "
                                   "between passes over the same draws")
            value[i, t] = np.sort(kept[i, t], axis=1)[np.arange(len(i)), rank_in[i, t]]
            open_ &= ~collect
        same = split & (cmin == cmax)                        # one value fills the cell
        value[same] = cmin[same]
        split &= ~same
        open_ &= ~same
        if split.any():
            cdf = np.cumsum(hist, axis=2)
            j = (cdf <= rank_in[..., None]).sum(axis=2)      # the bin holding the rank
            jj = np.minimum(j, B - 1)[..., None]
            before = np.where(j > 0, np.take_along_axis(cdf, np.maximum(j - 1, 0)[..., None],
                                                        axis=2)[..., 0], 0)
            rank_in = np.where(split, rank_in - before, rank_in)
            in_cell = np.where(split, np.take_along_axis(hist, jj, axis=2)[..., 0], in_cell)
            origins.append(a)
            scales.append(sc)
            chosen.append(np.where(split, j, -1))            # -1: no value is a member
        level += 1
    below, above = value[:, :len(q)].T, value[:, len(q):].T
    g = gamma[:, None]
    diff = above - below
    # numpy's _lerp, written the same way so that the values agree to the last bit
    out = np.where(g >= 0.5, above - diff * (1 - g), below + diff * g)
    out[:, has_nan] = np.nan
    return out


def _bin_of(x, origin, scale, bins: int):
    """Bin number ``⌊(x − origin)·scale⌋`` clipped to ``[0, bins − 1]`` (``x`` (b, n, 1),
    origin and scale (n, T))."""
    return np.clip(np.floor((x - origin[None]) * scale[None]), 0, bins - 1).astype(np.int64)


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
