"""What a report page needs from the engine, computed once per process and shared by its pages.

A report set is many pages over the same scheme and dataset. :func:`report_context` loads both,
fingerprints them, and returns a :class:`ReportContext` that evaluates each period once (with
:func:`assesskit.evaluate`), the whole history once (:func:`assesskit.evaluate_periods`, for
trends and multi-period rules) and each seeded uncertainty run once. The context is cached by
the fingerprints, so a warm notebook kernel that renders forty unit pages evaluates the scheme
once, and a changed data file or scheme gives a new context.

Nothing here scores or ranks: every number comes from the engine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..data.model import (
    Dataset,
    normalise_period,
    parse_period,
    period_frequency,
    sub_periods,
)
from ..errors import AssessKitError


# ---------------------------------------------------------------------- inputs and fingerprints
def load_scheme_any(scheme):
    """A :class:`~assesskit.scheme.model.Scheme` from a scheme, a built-in name or a YAML path."""
    from ..scheme.model import Scheme, load_scheme

    return scheme if isinstance(scheme, Scheme) else load_scheme(scheme)


def load_data_any(data) -> Dataset:
    """A :class:`Dataset` from a dataset, a bundled dataset name or a path to a user's dataset.

    ``data`` may also be a mapping ``{"path": ..., "values_layout": "wide"}`` (JSON, so that a
    page's papermill parameters can carry the layout of a user's values table).
    """
    from ..data import datasets

    if isinstance(data, Dataset):
        return data
    if isinstance(data, Mapping):
        return datasets.load(str(data["path"]), values_layout=data.get("values_layout"))
    return datasets.load(str(data))


def example_data(scheme) -> str:
    """The bundled example dataset of a built-in scheme.

    Raises
    ------
    AssessKitError
        For a scheme with no example dataset: the message says to give one.
    """
    scheme = load_scheme_any(scheme)
    name = scheme.spec.get("example_data")
    if not name:
        raise AssessKitError(f"scheme {scheme.name!r} names no example dataset (example_data:); "
                             "give the data to assess with --data (a bundled dataset name or a "
                             "dataset folder)")
    return str(name)


def scheme_hash(scheme) -> str:
    """SHA-256 of the scheme's content (its spec as canonical JSON) and its change log."""
    scheme = load_scheme_any(scheme)
    text = json.dumps({"spec": scheme.spec, "log": scheme.log}, sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_hash(data: Dataset) -> str:
    """SHA-256 of a dataset's three tables (units, indicators, values) and its provenance."""
    digest = hashlib.sha256()
    for frame in (data.units, data.indicators, data.values):
        digest.update(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    digest.update(str(data.provenance).encode("utf-8"))
    return digest.hexdigest()


def data_kind(data: Dataset) -> str:
    """``synthetic``, ``real`` or ``mixed``, as :func:`assesskit.datasets.describe` says for a
    bundled dataset, else from the indicators' ``source`` column."""
    from ..data import datasets

    if data.name in datasets.list():
        described = datasets.describe().set_index("name")
        return str(described.loc[data.name, "data"])
    source = data.indicators["source"].astype(str) if "source" in data.indicators else pd.Series()
    synthetic = source.str.contains("synthetic", case=False)
    if len(source) and synthetic.all():
        return "synthetic"
    return "mixed" if synthetic.any() else "real"


# ---------------------------------------------------------------------- periods
def candidate_periods(scheme, data: Dataset) -> list[str]:
    """Periods a report can be made for: the years in the data for an annual scheme; for a
    quarterly or monthly scheme, the years whose every sub-period is in the data (the report is
    the annual result)."""
    scheme = load_scheme_any(scheme)
    present = set(data.periods)
    years = sorted({p[:4] for p in data.periods})
    if scheme.frequency == "annual":
        return [p for p in data.periods if period_frequency(p) == "Y"]
    code = {"quarterly": "Q", "monthly": "M"}[scheme.frequency]
    return [y for y in years if set(sub_periods(y, code)) <= present]


def parse_periods(text: str | None, available: list[str]) -> list[str]:
    """Periods asked for on the command line, checked against those available.

    Parameters
    ----------
    text : str or None
        ``None`` (the latest), one period (``2024``), a range (``2023-2025``), a list
        (``2023,2025``) or ``all``.
    available : list of str
        Periods a report can be made for, in order.

    Raises
    ------
    AssessKitError
        A period not available: the message lists the available ones.
    """
    if not available:
        raise AssessKitError("no period can be reported: the data have no period the scheme "
                             "can evaluate")
    if text is None or str(text).strip() == "":
        return [available[-1]]
    text = str(text).strip()
    if text == "all":
        return list(available)
    wanted: list[str] = []
    for part in text.split(","):
        part = part.strip()
        single, _ = parse_period(part)  # 2024-03 is a month before it is a range
        if single is None and "-" in part[1:] and not part.startswith("-"):
            first, last = (_period(x.strip(), part, text, available) for x in part.split("-", 1))
            for end in (first, last):
                _check_period(end, available)
            i, j = available.index(first), available.index(last)
            if i > j:
                raise AssessKitError(f"period range {part!r} runs backwards; write it as "
                                     f"{last}-{first}")
            wanted += available[i:j + 1]
        else:
            period = _period(part, part, text, available)
            _check_period(period, available)
            wanted.append(period)
    return list(dict.fromkeys(wanted))


PERIODS_FORMS = ("--periods takes one period (a year 2024, a quarter 2024Q1 or a month 2024-03), "
                 "a range of two periods joined by '-' (2023-2025), a list joined by ',' "
                 "(2023,2025), or all")


def _period(text: str, part: str, whole: str, available: list[str]) -> str:
    """The canonical period of ``text``, an end of the range ``part`` of ``--periods whole`` (or
    the whole of ``part``), or an error naming the whole input and the forms it may take."""
    period, reason = parse_period(text)
    if period is None:
        if text != part:  # an end of what reads as a range
            _, as_period = parse_period(part)
            what = (f"{part!r} is neither a period ({as_period}) nor a range of two periods "
                    f"({text!r} is not a period)")
        else:
            what = f"{part!r} is not a period ({reason})"
        raise AssessKitError(f"--periods {whole}: {what}. {PERIODS_FORMS}; periods available: "
                             f"{', '.join(available)}")
    return period


def _check_period(period: str, available: list[str]) -> None:
    if period not in available:
        raise AssessKitError(f"no report for period {period!r}: periods available are "
                             f"{', '.join(available)} (a report is the annual result; a "
                             "quarterly scheme's quarters are combined into their year)")


# ---------------------------------------------------------------------- the context
@dataclass
class ReportContext:
    """A scheme, a dataset and every evaluation a report set needs, computed on first use.

    Attributes
    ----------
    scheme : Scheme
    data : Dataset
    scheme_hash, data_hash : str
        Fingerprints (SHA-256) of the scheme and of the dataset.
    """

    scheme: object
    data: Dataset
    scheme_hash: str
    data_hash: str
    _evaluations: dict = field(default_factory=dict, repr=False)
    _uncertainty: dict = field(default_factory=dict, repr=False)
    _value_batches: dict = field(default_factory=dict, repr=False)

    @cached_property
    def _period_check(self) -> tuple[list[str], dict[str, str]]:
        ok, skipped = [], {}
        for p in candidate_periods(self.scheme, self.data):
            try:
                self._evaluations[p] = self._evaluate(p)
                ok.append(p)
            except AssessKitError as exc:
                skipped[p] = str(exc).strip().splitlines()[-1].lstrip(" -")
        return ok, skipped

    @property
    def periods(self) -> list[str]:
        """Periods the scheme can evaluate on these data, in order."""
        return self._period_check[0]

    @property
    def unavailable(self) -> dict[str, str]:
        """Periods in the data that cannot be evaluated, with the engine's reason."""
        return self._period_check[1]

    def _evaluate(self, period: str):
        from ..engine.evaluation import evaluate

        return evaluate(self.scheme, self.data, period)

    def evaluation(self, period):
        """The :class:`~assesskit.engine.evaluation.Evaluation` of ``period`` (cached)."""
        period = normalise_period(period)
        if period not in self._evaluations:
            if period not in self.periods:
                _check_period(period, self.periods)
            self._evaluations[period] = self._evaluate(period)
        return self._evaluations[period]

    def previous_period(self, period) -> str | None:
        """The report period before ``period``, or None for the first one."""
        period = normalise_period(period)
        i = self.periods.index(period)
        return self.periods[i - 1] if i > 0 else None

    @cached_property
    def history(self):
        """:func:`assesskit.evaluate_periods` over every period (trends, multi-period rules)."""
        from ..engine.evaluation import evaluate_periods

        return evaluate_periods(self.scheme, self.data, self.periods)

    def uncertainty(self, period, level: str, n: int, seed: int):
        """A seeded :func:`assesskit.uncertainty` run with its default factors (cached)."""
        from ..analysis.uncertainty import uncertainty

        key = (normalise_period(period), level, int(n), int(seed))
        if key not in self._uncertainty:
            self._uncertainty[key] = uncertainty(self.scheme, self.data, key[0], n=key[2],
                                                 seed=key[3], level=level)
        return self._uncertainty[key]

    def value_batch(self, period, level: str):
        """The level compiled for changed raw values (what-it-would-take pages; cached)."""
        from ..analysis.counterfactual import compile_level

        key = (normalise_period(period), level)
        if key not in self._value_batches:
            self._value_batches[key] = compile_level(self.scheme, self.data, key[0], level,
                                                     evaluation=self.evaluation(key[0]))
        return self._value_batches[key]

    @cached_property
    def kind(self) -> str:
        """``synthetic``, ``real`` or ``mixed`` (see :func:`data_kind`)."""
        return data_kind(self.data)


_CONTEXTS: dict[tuple[str, str], ReportContext] = {}
_DATA: dict[str, tuple[tuple, Dataset, str]] = {}


def _cached_data(data) -> tuple[Dataset, str]:
    """A dataset and its hash, read again only when one of its files changed (size, time)."""
    if isinstance(data, Dataset):
        return data, data_hash(data)

    def stamp(ds: Dataset) -> tuple:
        files = [Path(f) for f in ds.sources.values() if f and Path(f).is_file()]
        return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)

    key = str(data)
    hit = _DATA.get(key)
    if hit is not None and hit[0] and stamp(hit[1]) == hit[0]:
        return hit[1], hit[2]
    ds = load_data_any(data)
    digest = data_hash(ds)
    _DATA.clear()
    _DATA[key] = (stamp(ds), ds, digest)
    return ds, digest


def report_context(scheme, data) -> ReportContext:
    """The :class:`ReportContext` of a scheme and a dataset, shared by every page of a process.

    Parameters
    ----------
    scheme : Scheme or str
        A scheme, a built-in scheme name or a YAML path.
    data : Dataset or str
        A dataset, a bundled dataset name or a path to a dataset.

    Returns
    -------
    ReportContext
        The same object for the same scheme and data content (fingerprints), so evaluations are
        computed once per process.
    """
    scheme = load_scheme_any(scheme)
    data, digest = _cached_data(data)
    key = (scheme_hash(scheme), digest)
    if key not in _CONTEXTS:
        _CONTEXTS.clear()  # one scheme and dataset at a time: keep memory flat
        _CONTEXTS[key] = ReportContext(scheme, data, *key)
    return _CONTEXTS[key]
