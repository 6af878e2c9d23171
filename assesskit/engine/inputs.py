"""Fast read access to a dataset for the engine, computed once per dataset.

Evaluating one period must not re-read the whole panel: the values table (1.7 million rows for
the national panel) is indexed once — each row's unit, indicator and period as integer codes —
and the dense units × indicators matrix of a period is built on first use and kept. The data
fingerprint recorded in every evaluation's log is computed once as well.

A :class:`~assesskit.data.model.Dataset` is treated as immutable: build a new one to change
values (the cache is keyed by the dataset object and the identity and length of its tables).
"""

from __future__ import annotations

import hashlib
import weakref

import numpy as np
import pandas as pd

from ..data.model import Dataset

_VIEWS: dict[int, DataView] = {}


class DataView:
    """Integer-coded views of one dataset's tables (see the module notes)."""

    def __init__(self, data: Dataset):
        self.name = data.name
        values = data.values
        self.unit_ids = pd.Index(data.units["unit"].astype(str))
        self.indicator_codes = pd.Index(data.indicators["indicator"].astype(str))
        self.indicator_col = {c: i for i, c in enumerate(self.indicator_codes)}
        self.unit_code = self.unit_ids.get_indexer(values["unit"].astype(str))
        self.indicator_code = self.indicator_codes.get_indexer(values["indicator"].astype(str))
        period_cat = pd.Categorical(values["period"].astype(str))
        self.period_names = list(period_cat.categories)
        self.period_code = period_cat.codes
        self.value = values["value"].to_numpy(dtype=float)
        info = data.indicators.set_index("indicator")
        self.directions = info["direction"].to_dict()
        self.roles = info["role"].to_dict()
        self.periods = set(self.period_names)
        self._matrices: dict[str, np.ndarray] = {}
        self._fingerprint: str | None = None
        self._values_ref = (id(values), len(values))
        self._data = weakref.ref(data)

    def matrix(self, period: str) -> np.ndarray:
        """Dense (all units × all indicators) values of a period; NaN where not reported."""
        if period not in self._matrices:
            out = np.full((len(self.unit_ids), len(self.indicator_codes)), np.nan)
            if period in self.periods:
                rows = self.period_code == self.period_names.index(period)
                ok = rows & (self.unit_code >= 0) & (self.indicator_code >= 0)
                out[self.unit_code[ok], self.indicator_code[ok]] = self.value[ok]
            self._matrices[period] = out
        return self._matrices[period]

    def values(self, period: str, units: np.ndarray, indicators: list[str]) -> np.ndarray:
        """Values (len(units), len(indicators)) of a period; ``units`` are row positions in the
        units table; an indicator the dataset lacks gives a column of NaN."""
        cols = self.indicator_codes.get_indexer(pd.Index(indicators))
        table = self.matrix(period)[np.asarray(units, np.intp)]
        out = np.take(table, np.maximum(cols, 0), axis=1)
        out[:, cols < 0] = np.nan
        return out

    def column(self, period: str, units: np.ndarray, indicator: str) -> np.ndarray:
        """Values (len(units),) of one indicator in a period (NaN if the dataset lacks it)."""
        col = self.indicator_col.get(indicator)
        if col is None:
            return np.full(len(units), np.nan)
        return self.matrix(period)[units, col]

    def fingerprint(self) -> str:
        """A short hash of the values table (unit, period, indicator, value), for the log."""
        if self._fingerprint is None:
            data = self._data()
            h = pd.util.hash_pandas_object(data.values, index=False).to_numpy()
            self._fingerprint = hashlib.sha256(h.tobytes()).hexdigest()[:16]
        return self._fingerprint


def view(data: Dataset) -> DataView:
    """The cached :class:`DataView` of a dataset (built on first use)."""
    key = id(data)
    v = _VIEWS.get(key)
    if v is None or v._data() is not data or v._values_ref != (id(data.values), len(data.values)):
        v = DataView(data)
        _VIEWS[key] = v
        weakref.finalize(data, _VIEWS.pop, key, None)
    return v
