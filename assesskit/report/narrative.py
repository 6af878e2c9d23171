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


def does_not_apply(scheme: str, data: str, reason: str) -> Markdown:
    """The statement a notebook prints as its first output when it cannot apply.

    Parameters
    ----------
    scheme, data : str
        Names of the scheme and dataset given.
    reason : str
        Why, in one or two sentences (what the scheme or the data lack).

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


def _unit_names(data, units: Iterable) -> list[str]:
    names = data.units.set_index("unit")["name"].to_dict()
    return [names.get(u) or str(u) for u in units]


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


def explore_period(data, level: str) -> str:
    """The period the explorer shows by default: the latest with at least 90% as many values
    reported at the level as the best-covered period (a monthly dataset whose annual rows hold
    most indicators is shown for the year, not for its last month)."""
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
