"""Registry of the bundled example datasets.

Every directory ``<data root>/<name>/`` that holds a ``dataset.yaml`` is a dataset named
``<name>``; nothing has to be registered by hand. The data root is, in order of precedence:

1. the directory named by the environment variable ``ASSESSKIT_DATA``;
2. ``assesskit/_data`` inside the installed package (a wheel ships ``data/`` there);
3. ``<repository>/data`` (a source checkout).

>>> from assesskit import datasets
>>> datasets.list()  # doctest: +SKIP
['dingxi', 'jincheng', 'sichuan-39', ...]
>>> ds = datasets.load("sichuan-39")  # doctest: +SKIP
>>> mine = datasets.load("path/to/my-data")  # a user's folder or .xlsx workbook  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..errors import DataError, Notice, Problem
from . import io as _io
from .model import Dataset

__all__ = ["DATA_ENV", "data_root", "describe", "list", "load"]

#: Environment variable that overrides the data root.
DATA_ENV = "ASSESSKIT_DATA"

_PACKAGE = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """The folder holding the bundled datasets.

    Returns
    -------
    pathlib.Path
        ``$ASSESSKIT_DATA`` if set and not empty, else ``assesskit/_data`` if it exists (wheel
        installs), else ``<repository>/data``. The path is returned even if it does not exist;
        :func:`list` then finds no dataset and :func:`load` says where it looked.

    Examples
    --------
    >>> data_root().name in {"data", "_data"}  # doctest: +SKIP
    True
    """
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    bundled = _PACKAGE / "_data"
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / "data"


def list() -> builtins.list[str]:  # shadows the builtin on purpose: the public verb
    """Names of the available datasets, sorted.

    Returns
    -------
    list of str
        The name of every directory directly under :func:`data_root` that holds a
        ``dataset.yaml``.

    Examples
    --------
    >>> "sichuan-39" in list()  # doctest: +SKIP
    True
    """
    root = data_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "dataset.yaml").is_file())


def _path(name: str) -> Path:
    names = list()
    if not isinstance(name, str) or name not in names:
        available = ", ".join(names) if names else "none"
        raise DataError(Problem(
            f"unknown dataset {name!r}; available datasets: {available} (looked in "
            f"{data_root()}; set {DATA_ENV} to use another folder)"),
            title=f"no dataset named {name!r}")
    return data_root() / name


def _looks_like_path(text: str) -> bool:
    return ("/" in text or "\\" in text or text.startswith((".", "~"))
            or text.lower().endswith((".xlsx", ".xlsm", ".csv", ".yaml", ".yml")))


def load(
    name: str | os.PathLike,
    *,
    values_layout: str | None = None,
    require_groups: Iterable[str] = (),
) -> Dataset:
    """Load a bundled dataset by name, or a user's dataset from a folder or workbook.

    Parameters
    ----------
    name : str or path-like
        One of :func:`list` (e.g. ``"sichuan-39"``), or the path of a dataset folder
        (``dataset.yaml``, or ``units.csv``, ``indicators.csv``, ``values.csv``) or of an
        ``.xlsx`` workbook (sheets ``units``, ``indicators``, ``values``); see
        ``docs/your-data.md``.
    values_layout : {"long", "wide"}, optional
        Layout of the values table of a user's dataset (see
        :func:`assesskit.data.io.load_dataset`).
    require_groups : iterable of str
        Levels whose units must all have a group; checked with every other problem.

    Returns
    -------
    Dataset
        Read and validated by :func:`assesskit.data.io.load_dataset`.

    Raises
    ------
    DataError
        If ``name`` is written as a path (it contains ``/`` or ``\\``, starts with ``.`` or
        ``~``, or ends in ``.xlsx``, ``.csv`` or ``.yaml``) that does not exist (the message
        says the path does not exist), if it is neither a bundled name nor an existing path
        (the message lists the bundled names), or if the files are invalid (every problem,
        with file, row and column).

    Notes
    -----
    How a name is resolved: a path-like object, or text naming an existing file or folder, is
    loaded from disk; otherwise the text is a bundled name. When text is both a bundled name
    and an existing folder of the working directory (``dingxi`` while ``./dingxi`` exists),
    the folder is loaded and ``ds.notices`` says so (kind ``path_over_name``).

    Examples
    --------
    >>> ds = load("sichuan-39")  # doctest: +SKIP
    >>> ds.level_units("county").shape[0]  # doctest: +SKIP
    39
    >>> mine = load("my-data/")  # doctest: +SKIP
    """
    options = {"values_layout": values_layout, "require_groups": tuple(require_groups)}
    if isinstance(name, os.PathLike):
        return _io.load_dataset(name, **options)
    if not isinstance(name, str):
        raise DataError(f"a dataset is given by name or path (text), not {type(name).__name__}")
    path = Path(name).expanduser()
    if name.strip() and path.exists():
        ds = _io.load_dataset(path, **options)
        if name in list():
            ds.notices.insert(0, Notice(
                "path_over_name",
                f"{name!r} is both a folder here and a bundled dataset; loaded the folder "
                f"(write ./{name} to make this explicit, or run from another folder to load "
                "the bundled dataset)", name))
        return ds
    if _looks_like_path(name):
        raise DataError(Problem(
            "the path does not exist (no such file or folder); check the spelling, or give "
            f"the name of a bundled dataset ({', '.join(list()) or 'none'})", file=name),
            title=f"no dataset at {name!r}")
    if name in list():
        return _io.load_dataset(_path(name), **options)
    available = ", ".join(list()) or "none"
    raise DataError(Problem(
        f"unknown dataset {name!r}; available datasets: {available} (looked in "
        f"{data_root()}; set {DATA_ENV} to use another folder). No file or folder of this "
        "name exists here either; for your own data give the path of a folder or an .xlsx "
        "workbook (see docs/your-data.md)"), title=f"no dataset named {name!r}")


def _data_kind(meta: dict, ds: Dataset) -> str:
    """``real``, ``synthetic`` or ``mixed``: ``kind:`` in dataset.yaml, else from the sources."""
    kind = meta.get("kind")
    if isinstance(kind, str) and kind.strip():
        return kind.strip()
    synthetic = ds.indicators["source"].astype(str).str.contains("synthetic", case=False)
    if synthetic.all():
        return "synthetic"
    return "real" if not synthetic.any() else "mixed"


def _period_span(periods: builtins.list[str]) -> str:
    if not periods:
        return ""
    return periods[0] if len(periods) == 1 else f"{periods[0]}..{periods[-1]}"


def describe() -> pd.DataFrame:
    """One row per dataset: what it holds and whether its values are real or synthetic.

    Returns
    -------
    pandas.DataFrame
        Columns ``name``, ``title`` (from ``dataset.yaml``), ``levels`` (units per level, e.g.
        ``"county 39, prefecture 8"``), ``units``, ``indicators``, ``periods`` (first..last),
        ``n_periods``, ``values`` (rows of the values table), ``missing`` (empty values) and
        ``data`` (``real``, ``synthetic`` or ``mixed``: the ``kind`` key of ``dataset.yaml`` if
        present, else ``synthetic`` when every indicator's ``source`` says so, ``real`` when
        none does, ``mixed`` otherwise). Sorted by name.

    Raises
    ------
    DataError
        If a dataset cannot be read (as :func:`load`).

    Notes
    -----
    Every dataset is loaded, so this takes as long as loading them all.

    Examples
    --------
    >>> describe()[["name", "units", "data"]]  # doctest: +SKIP
    """
    rows = []
    for name in list():
        meta = _io.read_metadata(data_root() / name / "dataset.yaml")
        ds = load(name)
        counts = ds.units["level"].value_counts(sort=False)
        periods = ds.periods
        rows.append({
            "name": name,
            "title": str(meta.get("title") or ""),
            "levels": ", ".join(f"{lv} {n}" for lv, n in counts.items()),
            "units": len(ds.units),
            "indicators": len(ds.indicators),
            "periods": _period_span(periods),
            "n_periods": len(periods),
            "values": len(ds.values),
            "missing": int(ds.values["value"].isna().sum()),
            "data": _data_kind(meta, ds),
        })
    columns = ["name", "title", "levels", "units", "indicators", "periods", "n_periods",
               "values", "missing", "data"]
    return pd.DataFrame(rows, columns=columns)
