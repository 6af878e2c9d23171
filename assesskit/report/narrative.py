"""Narrative computed from results, and a check that it names only what the scheme has.

A notebook's fixed Markdown holds method and context that are true for every scheme; every
sentence that states a finding is made here from the results, with the names of groups,
consequences, levels and periods taken from the scheme and the data (never fixed text), and
every name from data escaped for Markdown (:func:`assesskit.report.safe.md_text`).

==============================  ==================================================================
function                        what it gives
==============================  ==================================================================
:func:`does_not_apply`          the statement a notebook prints first when it cannot apply
:func:`vocabulary`              the names a scheme and its data use (groups, consequences, ...)
:func:`foreign_names`           names of other built-in schemes that a text uses but this one lacks
:func:`consequence_labels`      ``{key: label}`` of a level's consequences
:func:`explore_*`               the data explorer's sentences (groups, directions, findings)
:func:`compare_findings`        what a comparison of weighting methods shows
:func:`uncertainty_*`           the uncertainty notebook's sentences (design, outcomes, Sobol')
==============================  ==================================================================
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from IPython.display import Markdown

from .safe import md_text

#: The words that open the statement of a notebook that cannot apply (tests look for them).
NOT_APPLICABLE = "**This notebook does not apply**"


def does_not_apply(scheme: str, data: str, reason) -> Markdown:
    """The statement a notebook prints as its first output when it cannot apply.

    Parameters
    ----------
    scheme, data : str
        Names of the scheme and dataset given.
    reason : str or Exception
        Why, in one or two sentences (what the scheme or the data lack); for an assesskit error,
        its last line without the path of the scheme file (the key it names is kept).

    Returns
    -------
    IPython.display.Markdown
        ``**This notebook does not apply** to scheme `x` with dataset `y`: <reason>`` followed
        by a sentence saying that the cells below show nothing.

    Examples
    --------
    >>> does_not_apply("undp-hdi", "hdr-2023", "no level has a praise or summons list.").data
    '**This notebook does not apply** to scheme undp-hdi with dataset hdr-2023: no level has a praise or summons list. The cells below are skipped.'
    """
    if isinstance(reason, BaseException):
        reason = str(reason).strip().splitlines()[-1].strip().lstrip("- ")
        reason = re.sub(r"^\S+\.ya?ml(, line \d+)?; ", "", reason)
    reason = str(reason).strip()
    return Markdown(f"{NOT_APPLICABLE} to scheme {md_text(scheme)} with dataset "
                    f"{md_text(data)}: {md_text(reason)} The cells below are skipped.")


# ------------------------------------------------------------------------------- vocabulary
@dataclass(frozen=True)
class Vocabulary:
    """The names a scheme and its dataset use.

    Attributes
    ----------
    groups : frozenset
        Group and subgroup labels of the units of every level the scheme assesses (a label equal
        to a level name, the placeholder some datasets use for "no groups", is left out).
    consequences : frozenset
        Consequence keys and labels of every level.
    levels : frozenset
        Level keys and labels of the scheme and the level names in the data.
    places : frozenset
        The place the scheme is named after (see :func:`scheme_place`).
    other : frozenset
        Unit names (Chinese and English) and grade labels: the scheme's own words, masked before
        a text is checked but never reported as foreign.
    quoted : tuple of str
        Text quoted from the scheme file (titles, assumptions, notes) and the dataset
        (provenance, title): removed before a text is checked, since it quotes the sources.
    """

    groups: frozenset
    consequences: frozenset
    levels: frozenset
    places: frozenset
    other: frozenset
    quoted: tuple

    @property
    def names(self) -> frozenset:
        """Every name in the vocabulary."""
        return self.groups | self.consequences | self.levels | self.places | self.other

    @property
    def checked(self) -> frozenset:
        """The names another scheme's text must not use: groups, consequences and places."""
        return self.groups | self.consequences | self.places


def scheme_place(name: str) -> str:
    """The place a built-in scheme is named after: the first word of its name.

    Examples
    --------
    >>> scheme_place("sichuan-39"), scheme_place("jincheng-1plus4"), scheme_place("dingxi")
    ('sichuan', 'jincheng', 'dingxi')
    """
    first = re.split(r"[-_\s]", str(name).strip())[0]
    return first.lower() if first.isalpha() else ""


def _strings(value) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def _clean(values) -> set[str]:
    return {str(v).strip() for v in values if isinstance(v, str) and str(v).strip()}


def vocabulary(scheme, data) -> Vocabulary:
    """The names a scheme and its dataset use (see :class:`Vocabulary`).

    Parameters
    ----------
    scheme : Scheme or str
    data : Dataset

    Returns
    -------
    Vocabulary
    """
    from .context import load_scheme_any

    scheme = load_scheme_any(scheme)
    levels, consequences, grades, assessed = set(), set(), set(), set()
    for key, spec in scheme.levels.items():
        raw = scheme.spec.get("levels", {}).get(key, {})
        levels |= _clean([key, raw.get("label", "")])
        assessed.add(str((raw.get("units") or {}).get("level", key)))
        for ckey, block in (spec.consequences or {}).items():
            consequences |= _clean([ckey])
            if isinstance(block, Mapping):
                consequences |= _clean([block.get("label", "")])
        for band in (spec.grades or {}).get("bands", []) or []:
            grades |= _clean([band[1]] if isinstance(band, list | tuple) and len(band) > 1
                             else [])
    units = data.units
    level_names = set(units["level"].astype(str))
    levels |= level_names
    mine = units[units["level"].astype(str).isin(assessed)]
    groups = set()
    for col in ("group", "subgroup"):
        if col in mine.columns:
            groups |= _clean(mine[col].fillna("").astype(str))
    groups -= levels | level_names
    other = _clean(units["name"].fillna("").astype(str))
    if "name_en" in units.columns:
        other |= _clean(units["name_en"].fillna("").astype(str))
    quoted = [s for s in _strings(scheme.spec) if len(s) >= 8]
    quoted += [str(data.provenance or "")]
    quoted += [str(getattr(data, attr, "") or "") for attr in ("title", "description")]
    place = scheme_place(scheme.name)
    return Vocabulary(frozenset(groups), frozenset(consequences), frozenset(levels),
                      frozenset({place} if place else set()), frozenset(other | grades),
                      tuple(sorted({q for q in quoted if q.strip()}, key=len, reverse=True)))


@lru_cache(maxsize=32)
def _builtin_vocabulary(name: str) -> Vocabulary:
    from ..data import datasets
    from .context import example_data

    return vocabulary(name, datasets.load(example_data(name)))


def _pattern(term: str) -> re.Pattern:
    """A term as a regex: an ASCII word matched whole, other text as a substring. A lower-case
    identifier (a consequence key, a place) matches in any case ("Praised" at the start of a
    sentence); a capitalised label (the group codes ``AS``, ``High``) only as written, so that it
    does not match the English words "as" and "high"."""
    if term.isascii():
        flags = re.IGNORECASE if term == term.lower() else 0
        return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(term)}(?![A-Za-z0-9_])", flags)
    return re.compile(re.escape(term))


def foreign_names(text: str, scheme, data, others: Sequence | None = None) -> list[str]:
    """Names of other schemes' groups, consequences and places that a text uses but this scheme
    and its data lack.

    Parameters
    ----------
    text : str
        The narrative to check (Markdown or plain text; Markdown escapes are undone).
    scheme : Scheme or str
    data : Dataset
    others : sequence of Scheme, str or (scheme, Dataset), optional
        The schemes whose names count as foreign; default every built-in scheme with its example
        dataset.

    Returns
    -------
    list of str
        The foreign names found, sorted; empty when the text names only what the scheme has.

    Notes
    -----
    Before searching, the text quoted from the scheme file and from the dataset's provenance is
    removed, then every name of this scheme's own vocabulary (so that 集体约谈 does not count as
    the foreign 约谈 it contains). An ASCII name matches as a whole word.

    Examples
    --------
    >>> import assesskit as ak
    >>> ds = ak.datasets.load("dingxi")
    >>> foreign_names("3 counties are summoned (约谈) in 秦巴山区.", "dingxi", ds)
    ['summoned', '秦巴山区', '约谈']
    >>> foreign_names("1 county is 集体约谈 (talked).", "dingxi", ds)
    []
    """
    from .context import load_scheme_any

    scheme = load_scheme_any(scheme)
    own = vocabulary(scheme, data)
    if others is None:
        from ..scheme.model import builtin_schemes

        others = [n for n in builtin_schemes() if n != scheme.name]
    foreign: set[str] = set()
    for other in others:
        if isinstance(other, tuple):
            foreign |= vocabulary(*other).checked
        else:
            name = other if isinstance(other, str) else other.name
            foreign |= _builtin_vocabulary(name).checked
    foreign -= own.names
    plain = str(text).replace("\\", "")
    for quote in own.quoted:
        plain = plain.replace(quote, " ")
    for name in sorted(own.names, key=len, reverse=True):
        plain = _pattern(name).sub(" ", plain)
    return sorted(term for term in foreign if _pattern(term).search(plain))


# ------------------------------------------------------------------------------- small helpers
def names_list(names: Iterable, limit: int = 10, sep: str = "、") -> str:
    """Escaped names joined with ``、``; beyond ``limit`` the rest are counted.

    Examples
    --------
    >>> names_list(["甲", "乙", "丙"], limit=2)
    '甲、乙 and 1 more'
    """
    names = [md_text(n) for n in names]
    if len(names) > limit:
        return sep.join(names[:limit]) + f" and {len(names) - limit} more"
    return sep.join(names)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 unit"``, ``"2 units"``.

    Examples
    --------
    >>> plural(1, "unit"), plural(3, "county", "counties")
    ('1 unit', '3 counties')
    """
    return f"{n} {word if n == 1 else (words or word + 's')}"


def pct(x: float, digits: int = 0) -> str:
    """A share as a percentage: ``pct(0.643) == '64%'``."""
    return f"{100 * float(x):.{digits}f}%"


def consequence_labels(scheme, level: str) -> dict[str, str]:
    """``{key: label}`` of a level's consequences (the key where no label is given).

    Examples
    --------
    >>> consequence_labels("dingxi", "county")
    {'praised': '通报表扬', 'talked': '集体约谈'}
    """
    from .context import load_scheme_any

    spec = load_scheme_any(scheme).levels[level]
    return {str(k): str(b.get("label") or k) if isinstance(b, Mapping) else str(k)
            for k, b in (spec.consequences or {}).items() if k != "veto"}


# ------------------------------------------------------------------------------- explore-data
def explore_header(data, level: str, period: str) -> Markdown:
    """What the explorer shows: dataset, level, units, indicators and period."""
    from .context import data_kind
    from .plotting import level_indicators

    units = data.level_units(level)
    codes = level_indicators(data, level)
    return Markdown(
        f"Dataset **{md_text(data.name)}** ({data_kind(data)} values), level "
        f"**{md_text(level)}**: {plural(len(units), 'unit')} and "
        f"{plural(len(codes), 'indicator')} with values at this level. Shown: period "
        f"**{md_text(period)}** (periods in the data: {md_text(data.periods[0])} to "
        f"{md_text(data.periods[-1])}, {len(data.periods)} in all).")


def explore_groups(data, level: str) -> Markdown:
    """Who is compared with whom at a level: the groups and their sizes, or one group."""
    from .plotting import ALL_UNITS, comparison_groups

    units = data.level_units(level)
    groups = comparison_groups(data, level)
    if set(groups) == {ALL_UNITS}:
        raw = sorted(set(units["group"].fillna("").astype(str)) - {""})
        note = (f" (the group column holds only {names_list(raw)}, a level name)"
                if raw else "")
        return Markdown(f"The {plural(len(units), 'unit')} of level {md_text(level)} are not "
                        f"divided into groups{note}: a scheme ranking them compares every unit "
                        "with every other, and there is no group to draw or to pool.")
    sizes = groups.value_counts(sort=False)
    parts = [f"{md_text(g)} ({n})" for g, n in sizes.items()]
    text = (f"The {plural(len(units), 'unit')} of level {md_text(level)} fall into "
            f"{plural(len(sizes), 'group')}: {', '.join(parts)}.")
    if sizes.min() != sizes.max():
        text += (f" The smallest group has {sizes.min()}, the largest {sizes.max()}: one place "
                 f"in a group of {sizes.min()} is a bigger step than in a group of "
                 f"{sizes.max()}.")
    if "subgroup" in units.columns:
        sub = units[units["subgroup"].fillna("").astype(str) != ""]
        if len(sub):
            split = sub.groupby(groups.loc[sub.index], sort=False)["subgroup"].agg(
                lambda s: names_list(dict.fromkeys(s)))
            text += " Subgroups: " + "; ".join(f"{md_text(g)} into {s}"
                                               for g, s in split.items()) + "."
    return Markdown(text)


def explore_gaps(data, level: str, period: str) -> tuple[Markdown, pd.DataFrame]:
    """The values not reported in a period at a level: a sentence and the table."""
    from .plotting import level_indicators

    units = data.level_units(level)
    codes = level_indicators(data, level)
    table = data.wide(period, units=units["unit"], indicators=codes)
    gaps = table.stack(future_stack=True)
    gaps = gaps[gaps.isna()].reset_index()[["unit", "indicator"]]
    gaps = gaps.merge(units[["unit", "name", "group"]], on="unit", how="left")
    if gaps.empty:
        return Markdown(f"Every value of the {plural(len(codes), 'indicator')} of level "
                        f"{md_text(level)} is reported for {md_text(period)}."), gaps
    label = data.indicators.set_index("indicator")["name"].to_dict()
    by = gaps.groupby("indicator", sort=False)["name"].agg(list)
    parts = [f"{md_text(label.get(code) or code)} ({names_list(who, limit=3)})"
             for code, who in by.items()]
    shown = "; ".join(parts[:6]) + (f"; and {len(parts) - 6} more indicators"
                                     if len(parts) > 6 else "")
    return Markdown(f"{plural(len(gaps), 'value')} of level {md_text(level)} "
                    f"{'is' if len(gaps) == 1 else 'are'} not reported for {md_text(period)}: "
                    + shown + ". A scheme's missing-value policy decides what "
                    "happens to each (see the scheme format)."), gaps


def explore_period(data, level: str, period=None) -> str:
    """The period the explorer shows.

    ``None``: the latest period with at least 90% as many values reported at the level as the
    best-covered period (a monthly dataset whose annual rows hold most indicators is shown for
    the year, not for its last month). A year the data hold only as quarters or months (a
    quarterly dataset asked for ``2025``): the latest of its sub-periods in the data (values
    are often year to date). Any other period is returned as given (normalised).

    Examples
    --------
    >>> import assesskit
    >>> explore_period(assesskit.datasets.load("dingxi"), "county", 2025)
    '2025Q4'
    """
    from ..data.model import normalise_period

    if period is not None:
        period = normalise_period(period)
        if period not in data.periods:
            within = [p for p in data.periods if p.startswith(period) and len(period) == 4]
            if within:
                return within[-1]
        return period
    units = set(data.units.loc[data.units["level"] == level, "unit"])
    v = data.values[data.values["unit"].isin(units) & data.values["value"].notna()]
    counts = v.groupby("period").size().reindex(data.periods, fill_value=0)
    if counts.max() == 0:
        return data.periods[-1]
    return [p for p in data.periods if counts[p] >= 0.9 * counts.max()][-1]


def explore_directions(data, codes: Sequence[str]) -> Markdown:
    """Which indicators are higher-is-better and which lower-is-better, from the data."""
    info = data.indicators.set_index("indicator").loc[list(codes)]
    lower = info.index[info["direction"] == "lower"].tolist()
    higher = [c for c in codes if c not in lower]
    if not lower:
        return Markdown(f"For all {plural(len(codes), 'indicator')} shown, higher is better "
                        "(the dataset's `direction` column).")
    label = info["name"].where(info["name"].astype(str) != "", info.index.to_series())
    text = (f"Lower is better for {plural(len(lower), 'indicator')}: "
            f"{names_list(label[lower])}; for them the best unit is the one with the lowest "
            "value. ")
    text += (f"Higher is better for the other {len(higher)}." if higher else
             "No indicator shown is higher-is-better.")
    return Markdown(text + " (The dataset's `direction` column.)")


def explore_findings(data, period: str, level: str, codes: Sequence[str]) -> Markdown:
    """What the indicator panels show, computed: where groups differ, ties at the best value,
    outliers within a group, and gaps.

    Notes
    -----
    *Between groups*: the correlation ratio η² = SS_between / SS_total of each indicator over
    the groups (reported values only). *Ties at the best*: a group of at least three units in
    which at least half share the best value. *Outliers*: values beyond 1.5 × the interquartile
    range from the quartiles of their group (groups of at least four reported values), the rule
    of the box plots' whiskers.
    """
    from .plotting import ALL_UNITS, comparison_groups

    units = data.level_units(level)
    groups = comparison_groups(data, level).to_numpy()
    table = data.wide(period, units=units["unit"], indicators=codes)
    info = data.indicators.set_index("indicator")
    name = {c: (str(info.loc[c, "name"]) or c) for c in codes}
    lines = []
    grouped = set(groups) != {ALL_UNITS}
    if grouped:
        eta = {}
        for c in codes:
            x = table[c].to_numpy(float)
            ok = ~np.isnan(x)
            if ok.sum() < 3 or np.ptp(x[ok]) == 0:
                continue
            frame = pd.DataFrame({"x": x[ok], "g": groups[ok]})
            means = frame.groupby("g")["x"].transform("mean")
            eta[c] = float(((means - frame["x"].mean()) ** 2).sum()
                           / ((frame["x"] - frame["x"].mean()) ** 2).sum())
        if len(eta) >= 2:
            order = sorted(eta, key=eta.get, reverse=True)
            lines.append(f"**Between groups.** The groups differ most on "
                         f"{md_text(name[order[0]])} (the groups explain "
                         f"{pct(eta[order[0]])} of its variance) and least on "
                         f"{md_text(name[order[-1]])} ({pct(eta[order[-1]])}). Where the "
                         "groups differ a lot, a ranking of all units together would mostly "
                         "reward where a unit starts.")
    ties, outliers = [], []
    labels = units["name"].where(units["name"] != "", units["unit"]).to_numpy()
    for c in codes:
        higher = info.loc[c, "direction"] != "lower"
        x = table[c].to_numpy(float)
        for g in dict.fromkeys(groups):
            member = (groups == g) & ~np.isnan(x)
            v = x[member]
            if len(v) >= 3:
                best = v.max() if higher else v.min()
                k = int((v == best).sum())
                if k >= 2 and k >= len(v) / 2:
                    where = "" if not grouped else f" in {md_text(g)}"
                    ties.append(f"{md_text(name[c])}{where} ({k} of {len(v)})")
            if len(v) >= 4:
                q1, q3 = np.percentile(v, [25, 75])
                far = member & ((x < q1 - 1.5 * (q3 - q1)) | (x > q3 + 1.5 * (q3 - q1)))
                outliers += [f"{md_text(u)} on {md_text(name[c])}" for u in labels[far]]
    if ties:
        lines.append(f"**Ties at the best value.** At least half the units share the best "
                     f"value of {names_list(ties, limit=6, sep='; ')}: such an indicator "
                     "cannot separate them, so it moves ranks less than its weight says.")
    else:
        lines.append("**Ties at the best value.** No indicator has half the units of a group "
                     "tied at its best value.")
    if outliers:
        lines.append(f"**Outliers** (beyond 1.5 × the interquartile range of their group): "
                     f"{names_list(outliers, limit=8, sep='; ')}. Check such values at source: "
                     "one of them stretches a min–max normalisation for the whole group.")
    else:
        lines.append("**Outliers.** No value lies beyond 1.5 × the interquartile range of its "
                     "group.")
    n_gaps = int(table.isna().to_numpy().sum())
    lines.append(f"**Gaps.** {plural(n_gaps, 'value')} not reported in {md_text(period)}."
                 if n_gaps else f"**Gaps.** None in {md_text(period)}.")
    return Markdown("\n".join(f"- {line}" for line in lines))


# ------------------------------------------------------------------------------- compare-weights
def compare_header(variants, scheme, data, period) -> Markdown:
    """What is re-weighted, with which methods, and which methods were skipped and why."""
    from .context import load_scheme_any

    scheme = load_scheme_any(scheme)
    node = next(nd for nd in scheme.levels[variants.level].root.walk()
                if nd.id == variants.node)
    kids = [c for c in node.children if not c.conditional]
    kept = [c for c in node.children if c.conditional]
    label = node.label or node.id
    lines = [f"Scheme **{md_text(scheme.name)}** on dataset **{md_text(data.name)}**, period "
             f"**{md_text(period)}**: the {len(kids)} children of node **{md_text(label)}** "
             f"(`{md_text(node.id)}`) at level **{md_text(variants.level)}** are re-weighted "
             "by each method; every other weight stays official."]
    if kept:
        lines.append(f"{plural(len(kept), 'child', 'children')} of the node apply to named "
                     f"units only ({names_list([c.label or c.id for c in kept])}): they keep "
                     "their official weights and the others share what they hold together.")
    lines.append("Methods applied: " + (", ".join(f"`{m}`" for m in variants.applied)
                                         or "none") + ".")
    for row in variants.skipped.itertuples():
        lines.append(f"**`{md_text(row.method)}` is skipped**: {md_text(row.reason)}")
    left = sorted({u for s in variants.schemes.values() for e in s.log[-1:]
                   for u in (e.get("units_left_out") or [])})
    if left:
        lines.append(f"Weights are derived without the {plural(len(left), 'unit')} with a value "
                     f"not reported ({names_list(left)}); every unit is still assessed.")
    return Markdown("\n\n".join(lines))


def bod_runs(matrix) -> dict:
    """Benefit of the doubt without bounds and with the scaled share bounds (see
    :func:`assesskit.analysis.weights.bod_adapted`)."""
    from ..analysis.weights import bod_adapted

    return {"none": bod_adapted(matrix, bounds=None), "scaled": bod_adapted(matrix)}


def bod_table(runs: Mapping) -> pd.DataFrame:
    """One row per BoD run: the share bounds, the units scoring 1, the units, the rules used."""
    rows = []
    for run in runs.values():
        bounds = ("none" if run.bounds is None
                  else f"{pct(run.bounds[0], 1)}–{pct(run.bounds[1], 1)} of each unit's score")
        rows.append({"share bounds": bounds if not run.skipped else "—",
                     "units scoring 1": run.n_best if not run.skipped else None,
                     "units": len(run.matrix),
                     "rules / skipped": run.skipped or "; ".join(run.notes) or "none"})
    return pd.DataFrame(rows)


def _row_units(index) -> list:
    return [u[0] if isinstance(u, tuple) else u for u in index]


def bod_findings(runs: Mapping, evaluation, level: str) -> str:
    """One sentence on what benefit of the doubt shows, or why it could not run."""
    free, scaled = runs["none"], runs["scaled"]
    if free.skipped:
        return f"Benefit of the doubt could not be run: {md_text(free.skipped)}"
    rows = len(free.matrix)
    what = "units" if free.matrix.index.nlevels == 1 else "unit-periods"
    best = free.result.scores.index[free.result.scores > 1 - 1e-9]
    scores = evaluation.scores
    scores = scores[scores["level"] == level] if "level" in scores.columns else scores
    labels = consequence_labels(evaluation.scheme, level)
    bottom = {k for k, b in (evaluation.scheme.levels[level].consequences or {}).items()
              if isinstance(b, Mapping) and b.get("bottom") is not None}
    listed = scores.set_index("unit")["outcome"].astype(str)
    on_bottom = sorted({u for u in _row_units(best)
                        if set(listed.get(u, "").split("+")) & bottom})
    text = (f"With free weights {free.n_best} of the {rows} {what} with complete data score 1: "
            "each can pick weights under which no one beats it")
    if on_bottom:
        who = scores.set_index("unit")["name"].astype(str).to_dict()
        names = [who.get(u) or u for u in on_bottom]
        text += (f", including {names_list(names)}, on the "
                 f"{'/'.join(md_text(labels[k]) for k in sorted(bottom))} list officially")
    text += "."
    if scaled.skipped:
        text += f" With share bounds: {md_text(scaled.skipped)}"
    else:
        text += (f" Requiring each indicator to make up {pct(scaled.bounds[0], 1)}–"
                 f"{pct(scaled.bounds[1], 1)} of a unit's score (half to twice an equal share) "
                 f"leaves {scaled.n_best}.")
    if free.notes:
        text += " Rules used: " + md_text("; ".join(free.notes)) + "."
    return text


def compare_findings(cmp, variants, effective: pd.DataFrame, runs: Mapping | None,
                     evaluation) -> Markdown:
    """What a comparison of weighting methods shows, each bullet computed from the results.

    Parameters
    ----------
    cmp : Comparison
    variants : WeightVariants
    effective : DataFrame
        :func:`assesskit.analysis.weights.effective` of the official evaluation.
    runs : mapping or None
        :func:`bod_runs`, or None to say nothing about benefit of the doubt.
    evaluation : Evaluation
        The official evaluation.
    """
    level = variants.level
    lines = []
    if not variants.applied:
        return Markdown("- No weighting method could be applied at this node, so there is "
                        "nothing to compare; the reasons are printed above.")
    matrix = cmp.weight_matrix(level)
    labels = matrix.attrs.get("labels", {})
    # only the leaves under the re-weighted node change
    node = next(nd for nd in evaluation.scheme.levels[level].root.walk()
                if nd.id == variants.node)
    under = [i for i in matrix.index if i in {nd.id for nd in node.walk()}]
    matrix = matrix.loc[under] if under else matrix
    official = matrix["official"]
    parts = []
    for m in variants.applied:
        top = matrix[m].idxmax()
        parts.append(f"`{md_text(m)}` puts most on {md_text(labels.get(top, top))} "
                     f"({pct(matrix.loc[top, m], 1)} of the total, official "
                     f"{pct(official[top], 1)})")
    distance = {m: float((matrix[m] - official).abs().max()) for m in variants.applied}
    closest = min(distance, key=distance.get)
    lines.append("**What each method rewards** (among the indicators under the node). "
                 + "; ".join(parts) + f". Closest to the "
                 f"official weights: `{md_text(closest)}` (no leaf moves by more than "
                 f"{pct(distance[closest], 1)} of the total). These weights are properties "
                 "of this period's data, not statements about policy priorities.")
    from ..analysis.compare import ALL_UNITS

    corr = cmp.correlations
    whole = corr[(corr["level"] == level) & (corr["scheme_a"] == "official")
                 & (corr["group"] == ALL_UNITS)]
    whole = whole.set_index("scheme_b")["spearman"]
    n_units = int((cmp.scores["level"] == level).sum() / len(cmp.schemes))
    if whole.min() == whole.max():
        lines.append(f"**Rank agreement.** Over the {n_units} units of the level, Spearman's ρ "
                     f"with the official ranking is {whole.min():.3f} for every method.")
    else:
        lines.append(f"**Rank agreement.** Over the {n_units} units of the level, Spearman's ρ "
                     f"with the official ranking runs from {whole.min():.3f} "
                     f"(`{md_text(whole.idxmin())}`) to {whole.max():.3f} "
                     f"(`{md_text(whole.idxmax())}`).")
    cons = consequence_labels(evaluation.scheme, level)
    changes = cmp.outcome_changes[cmp.outcome_changes["level"] == level]
    if not cons:
        lines.append("**Lists.** The scheme sets no consequence at this level, so no list can "
                     "change; only the ranks move.")
    elif changes.empty:
        lines.append(f"**Lists.** No unit enters or leaves a list "
                     f"({'/'.join(md_text(v) for v in cons.values())}) under any method: "
                     "for this period the lists are robust to the weighting at this node.")
    else:
        parts = []
        for (m, label), g in changes.groupby(["scheme", "label"], sort=False):
            enters = g.loc[g["change"] == "enters", "name"]
            leaves = g.loc[g["change"] == "leaves", "name"]
            bit = f"{'Under' if not parts else 'under'} `{md_text(m)}` {md_text(label)}"
            if len(enters):
                bit += f" gains {names_list(enters)}"
            if len(leaves):
                bit += (" and" if len(enters) else "") + f" loses {names_list(leaves)}"
            parts.append(bit)
        moved = sorted(set(changes["name"]))
        lines.append("**Lists are decided at the margin.** " + "; ".join(parts) + ". "
                     f"{plural(len(moved), 'unit')} change fate under some method "
                     f"({names_list(moved)}); for them a decision should not rest on the "
                     "weights alone. Every other listed unit keeps its outcome under all "
                     "methods.")
    if "equal" in variants.applied:
        same = (matrix["equal"] - official).abs().max() < 1e-9
        moved = cmp.rank_shifts[(cmp.rank_shifts["level"] == level)
                                & (cmp.rank_shifts["scheme"] == "equal")]["rank_shift"]
        if same and (moved == 0).all():
            lines.append("**Equal weights reproduce the official result exactly**, because the "
                         "official weights at this node are already equal: this row checks "
                         "that the comparison changes nothing by itself.")
        elif same:
            lines.append("**Equal weights are the official weights at this node**, yet ranks "
                         "move: units with their own override weights are scored differently.")
        else:
            lines.append(f"**Equal weights differ from the official ones** at this node "
                         f"(official leaf weights from {pct(official.min(), 1)} to "
                         f"{pct(official.max(), 1)} of the total); "
                         f"{int((moved != 0).sum())} units change rank under them.")
    eff = effective.dropna(subset=["ratio"])
    low = eff[eff["ratio"] < 0.5]
    high = eff[eff["ratio"] > 1.5]
    if len(low) or len(high):
        bits = []
        if len(low):
            bits.append("explain much less of the final score than their printed weight: "
                        + names_list([f"{r.label} ({pct(r.nominal_share, 1)} of the points, "
                                      f"{pct(r.eta2_share, 1)} of the explained variance)"
                                      for r in low.itertuples()], limit=5, sep="; "))
        if len(high):
            bits.append("explain much more than their weight: "
                        + names_list([f"{r.label} ({pct(r.nominal_share, 1)} → "
                                      f"{pct(r.eta2_share, 1)})" for r in high.itertuples()],
                                     limit=5, sep="; "))
        lines.append("**Nominal and effective weights part.** Under the official scheme some "
                     "indicators " + "; others ".join(bits) + ". Re-weighting changes what is "
                     "printed; effective weights show what decides.")
    else:
        lines.append("**Nominal and effective weights agree**: no indicator explains less than "
                     "half or more than 1.5 times its printed share of the final score.")
    if runs is not None:
        lines.append("**Self-interest.** " + bod_findings(runs, evaluation, level))
    return Markdown("\n".join(f"- {line}" for line in lines))


# ------------------------------------------------------------------------------- uncertainty
_FACTOR_CHANGES = {
    "weights": "how much each indicator and part counts",
    "normalisation": "how a raw value becomes points",
    "aggregation": "whether a strong indicator can make up for a weak one",
    "missing": "what happens to a value not reported",
    "grouping": "who is compared with whom, for points and for ranks",
    "quota": "how many units a list takes",
}


def uncertainty_lists(result) -> list[tuple[str, list[str], str]]:
    """The lists an uncertainty result tracks: ``(label, keys, probability column)`` for the
    top-quota consequences (``p_praised``), the bottom-quota ones (``p_summoned``) and every
    other consequence with its own column, each labelled as the scheme labels it."""
    labels = consequence_labels(result.scheme, result.level)
    lists = []
    for keys, column in ((result.praised, "p_praised"), (result.summoned, "p_summoned")):
        if keys:
            lists.append(("/".join(labels.get(k, k) for k in keys), list(keys), column))
    for key in result.consequences:
        if key not in result.praised and key not in result.summoned \
                and f"p_{key}" in result.ranks.columns:
            lists.append((labels.get(key, key), [key], f"p_{key}"))
    return lists


def _on(outcome: pd.Series, keys: Sequence[str]) -> pd.Series:
    keys = set(keys)
    return outcome.astype(str).map(lambda o: bool(set(o.split("+")) & keys) if o else False)


def uncertainty_intro(result, reasons: Sequence[str] | None = None) -> Markdown:
    """What is analysed: scheme, level, units, groups, the lists, and the factors drawn (with
    why each default factor is in or out)."""
    ranks = result.ranks
    by = result.scheme.levels[result.level].ranking.get("group_by")
    groups = [g for g in dict.fromkeys(ranks["group"].astype(str)) if g] if by else []
    levels = set(result.scheme.levels) | {result.level}
    real = [g for g in groups if g not in levels]
    title = str(result.scheme.spec.get("title") or result.scheme.name)
    text = (f"**{md_text(title)}** (`{md_text(result.scheme.name)}`) on dataset "
            f"**{md_text(result.dataset)}**, period **{md_text(result.period)}**, level "
            f"**{md_text(result.level)}**: {plural(len(ranks), 'unit')}")
    if len(real) > 1:
        text += (f", ranked within {len(real)} groups ({names_list(real)})")
    else:
        text += ", ranked together (one comparison group)"
    lists = uncertainty_lists(result)
    if lists:
        counts = [f"{md_text(label)} ({int(_on(ranks['nominal_outcome'], keys).sum())} "
                  "officially)" for label, keys, _ in lists]
        text += ". Lists tracked: " + ", ".join(counts) + "."
    else:
        text += ". The level sets no list; only ranks are tracked."
    text += (f" {len(result.draws):,} runs (n = {result.n}, seed {result.seed}) of "
             f"{plural(len(result.factors), 'design choice')}: "
             + ", ".join(f"`{md_text(f.name)}`" for f in result.factors) + ".")
    if reasons:
        text += "\n\nWhy each kind of choice is drawn or not:\n\n" + "\n".join(
            f"- {md_text(r)}" for r in reasons)
    return Markdown(text)


def factor_table(result) -> pd.DataFrame:
    """One row per factor drawn: name, kind, options (the official one first where it is an
    option) and what it changes."""
    rows = []
    for f in result.factors:
        if f.kind == "weights":
            options = (f"each weight × U({1 - f.spread:g}, {1 + f.spread:g}), re-normalised"
                       if f.spread is not None else
                       f"shares ~ Dirichlet({f.concentration:g} × official)")
        elif f.kind == "quota":
            labels = consequence_labels(result.scheme, result.level)
            target = labels.get(f.consequence, f.consequence) if f.consequence else None
            options = (f"quotas of {target or 'the first top list'} × "
                       + " · × ".join(f"{o:g}" for o in f.options))
        else:
            options = " · ".join(str(o) for o in f.labels)
        if f.nodes:
            options += f" (nodes {', '.join(f.nodes)})"
        rows.append({"factor": f.name, "kind": f.kind, "options": options,
                     "what it changes": _FACTOR_CHANGES.get(f.kind, "")})
    return pd.DataFrame(rows)


def outcome_table(result) -> pd.DataFrame:
    """Per unit: id, name, group, official rank and outcome (the scheme's labels), the share of
    runs on each list in per cent, and the median rank with its 5–95% interval; by group and
    rank."""
    ranks = result.ranks
    labels = consequence_labels(result.scheme, result.level)
    table = ranks[["unit", "name", "group", "nominal_rank"]].copy()
    table["official outcome"] = ranks["nominal_outcome"].astype(str).map(
        lambda o: "+".join(labels.get(k, k) for k in o.split("+")) if o else "")
    for label, _, column in uncertainty_lists(result):
        table[f"% {label}"] = (100 * ranks[column]).round(1)
    table = table.join(ranks[["median_rank", "q05", "q95"]])
    return table.sort_values(["group", "nominal_rank"], kind="mergesort").reset_index(drop=True)


def uncertainty_outcomes(result) -> Markdown:
    """How often the official outcomes survive: units sure of their list, units never listed,
    names that change in a typical run, and the borderline cases."""
    ranks = result.ranks
    lists = uncertainty_lists(result)
    if not lists:
        shift = float(np.median(result.rank_shift))
        return Markdown(f"The level sets no list. In a typical run the mean absolute change of "
                        f"rank within the groups is {shift:.2f} places.")
    lines = []
    listed_any = pd.Series(False, index=ranks.index)
    never = pd.Series(True, index=ranks.index)
    borderline = []
    for label, keys, column in lists:
        official = _on(ranks["nominal_outcome"], keys)
        p = ranks[column]
        listed_any |= official
        never &= p == 0
        sure = official & (p >= 1 - 1e-12)
        if official.any():
            text = (f"**{md_text(label)}**: {plural(int(official.sum()), 'unit')} officially; "
                    f"{int(sure.sum())} of them in every run")
            if sure.any():
                text += f" ({names_list(ranks.loc[sure, 'name'])})"
            weak = official & (p < 0.6)
            if weak.any():
                text += ("; on the list in under 60% of the runs: "
                         + names_list([f"{n} ({pct(v)})" for n, v in
                                       zip(ranks.loc[weak, 'name'], p[weak], strict=True)]))
                borderline += ranks.loc[weak, "name"].tolist()
            outside = ~official & (p >= 0.4)
            if outside.any():
                text += ("; not on it officially but in at least 40% of the runs: "
                         + names_list([f"{n} ({pct(v)})" for n, v in
                                       zip(ranks.loc[outside, 'name'], p[outside],
                                           strict=True)]))
            lines.append(text + ".")
        else:
            lines.append(f"**{md_text(label)}**: no unit officially; in some run: "
                         f"{int((p > 0).sum())}.")
    others = ~listed_any
    if others.any():
        lines.append(f"{int((never & others).sum())} of the {int(others.sum())} units on no "
                     "list officially are on none in any run.")
    else:
        lines.append("Every unit is on some list officially.")
    changes = result.outputs()["outcome_changes"]
    lines.append(f"In a typical run (the median), {int(changes.median())} units have a "
                 f"different outcome from the official one; in {pct((changes == 0).mean())} "
                 "of the runs none does.")
    if borderline:
        lines.append("A list that rests on the particular design for "
                     f"{names_list(borderline)} could be published with that caveat rather "
                     "than with the same confidence as the robust cases.")
    return Markdown("\n".join(f"- {line}" for line in lines))


def sobol_findings(indices: pd.DataFrame, result=None) -> Markdown:
    """Which design choice the lists and the ranks depend on most, with intervals, and the
    warning when the sample is too small to read the indices (see
    :func:`assesskit.analysis.sensitivity.readability`)."""
    lines = []
    warning = indices.attrs.get("warning", "")
    if warning:
        lines.append(f"**Warning.** {md_text(warning)}")
    outputs = {"outcome_changes": "the number of names that change on the lists",
               "mean_abs_rank_shift": "the mean change of rank within the groups"}
    for output, what in outputs.items():
        part = indices[indices["output"] == output]
        if part.empty:
            continue
        if (part["variance"] == 0).all():
            lines.append(f"No run changes {what}: it does not depend on any choice drawn.")
            continue
        part = part.sort_values("ST", ascending=False, kind="mergesort")
        top = part.iloc[0]
        readable = bool(top.get("readable", True))
        if readable:
            text = (f"{what[0].upper()}{what[1:]} depends most on `{md_text(top['factor'])}`: "
                    f"total index {top['ST']:.2f} (95% interval {top['ST_lo']:.2f}–"
                    f"{top['ST_hi']:.2f}), alone {top['S1']:.2f}")
            if len(part) > 1 and bool(part.iloc[1].get("readable", True)):
                text += (f"; next comes `{md_text(part.iloc[1]['factor'])}` "
                         f"({part.iloc[1]['ST']:.2f})")
            lines.append(text + ".")
        else:
            lines.append(f"For {what} the largest total index is that of "
                         f"`{md_text(top['factor'])}`, but it cannot be read with this sample "
                         f"({md_text(top['reading'])}).")
        small = part[(part["ST_hi"] < 0.05)]
        if len(small):
            lines.append(f"Choices that barely touch {what} (total index below 0.05 with its "
                         f"whole interval): " + ", ".join(f"`{md_text(f)}`"
                                                         for f in small["factor"]) + ".")
    if not lines:
        lines.append("No summary output to decompose.")
    return Markdown("\n".join(f"- {line}" for line in lines))


def plain(markdown) -> str:
    """The text of a narrative for a terminal: Markdown emphasis, code marks and escapes removed.

    Examples
    --------
    >>> plain(Markdown(r"- **Lists.** `entropy` moves 马边彝族自治县 (a\\_b)."))
    '- Lists. entropy moves 马边彝族自治县 (a_b).'
    """
    text = getattr(markdown, "data", markdown) or ""
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", str(text))
    text = text.replace("`", "")
    return re.sub(r"\\(.)", r"\1", text)


def rank_shift_panels(cmp, level: str, max_units: int = 60):
    """Which rank-shift charts to draw: ``(groups, note, movers)``.

    ``groups``: the comparison groups of the level with at most ``max_units`` units (one
    :data:`~assesskit.report.plotting.ALL_UNITS` panel when the level ranks its units together);
    ``note``: a sentence for the groups too large to draw (or None); ``movers``: for those, the
    units whose rank moves most under some method (or None).
    """
    from .plotting import ALL_UNITS, ranked_within_groups

    scores = cmp.scores[cmp.scores["level"] == level]
    base = scores[scores["scheme"] == cmp.baseline]
    if not ranked_within_groups(base):
        base = base.assign(group=ALL_UNITS)
    sizes, small, large = _groups_by_size(base, max_units)
    if not large:
        return small, None, None
    shifts = cmp.rank_shifts[cmp.rank_shifts["level"] == level].copy()
    shifts["moved"] = shifts["rank_shift"].abs()
    top = (shifts.sort_values(["moved", "unit"], ascending=[False, True], kind="mergesort")
           .drop_duplicates("unit").head(15))
    names = ", ".join(f"{md_text(g)} ({sizes[g]})" for g in large)
    note = Markdown(f"Too many units to draw one line each in {names}: instead, the "
                    f"{len(top)} units whose rank over the level moves most under some method "
                    f"(largest: {int(top['moved'].max()) if len(top) else 0} places).")
    return small, note, top[["name", "group", "scheme", "baseline_rank", "rank", "rank_shift"]]


def _groups_by_size(table: pd.DataFrame, max_units: int) -> tuple[pd.Series, list, list]:
    """Units per group (in order of appearance), the groups small enough to draw one mark per
    unit, and the others."""
    sizes = table.groupby("group", sort=False).size()
    return (sizes, [g for g, n in sizes.items() if n <= max_units],
            [g for g, n in sizes.items() if n > max_units])


def rank_uncertainty_panels(result, max_units: int = 60):
    """Which panels of the rank-uncertainty chart to draw: ``(groups, note, widest)``, as
    :func:`rank_shift_panels`: the groups with at most ``max_units`` units (one
    :data:`~assesskit.report.plotting.ALL_UNITS` panel when the level ranks its units
    together), a sentence for the larger ones, and their 15 units with the widest 5–95% rank
    interval."""
    from .plotting import ALL_UNITS, ranked_within_groups

    ranks = result.ranks
    if not ranked_within_groups(ranks, "nominal_rank"):
        ranks = ranks.assign(group=ALL_UNITS)
    sizes, small, large = _groups_by_size(ranks, max_units)
    if not large:
        return small, None, None
    part = ranks[ranks["group"].isin(large)].assign(width=lambda t: t["q95"] - t["q05"])
    widest = part.sort_values(["width", "nominal_rank"], ascending=[False, True],
                              kind="mergesort").head(15)
    names = ", ".join(f"{md_text(g)} ({sizes[g]})" for g in large)
    note = Markdown(f"Too many units to draw one row each in {names}: instead, the "
                    f"{len(widest)} units with the widest 5–95% rank interval (up to "
                    f"{widest['width'].max():g} places).")
    return small, note, widest[["name", "nominal_rank", "median_rank", "q05", "q95", "width"]]
