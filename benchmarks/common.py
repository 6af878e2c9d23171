"""What the benchmark scripts share: the national benchmark scheme and the timing helpers.

The scripts run as ``python benchmarks/bench_X.py``, so this folder is on ``sys.path`` and they
``import common``.
"""

from __future__ import annotations

import resource
import time
import tracemalloc

import assesskit as ak


def national_scheme(codes: list[str], grouped: bool = True, dimensions: int = 6,
                    name: str = "national-benchmark") -> ak.Scheme:
    """The benchmark scheme for the synthetic national panel.

    Six dimensions of ten indicators, equal weights, min-max onto [60, 100] within the group,
    missing values re-weighted. ``grouped``: ranked by province with 3 praised and 1 summoned
    per province; otherwise one national ranking with 90 praised and 30 summoned (about the
    same share of the 2,850 counties).
    """
    per = len(codes) // dimensions
    tree = {f"dim{d + 1}": {"weight": 1, "normalise_weights": True,
                            "children": {c: {"weight": 1} for c in codes[d * per:(d + 1) * per]}}
            for d in range(dimensions)}
    ranking = {"ties": {"method": "min", "decimals": 2}}
    top, bottom = 90, 30
    if grouped:
        ranking["group_by"] = "group"
        top, bottom = 3, 1
    return ak.load_scheme({
        "name": name, "max_points": 100,
        "defaults": {"scoring": {"method": "minmax", "within": "group", "range": [60, 100]},
                     "missing": "renormalise"},
        "levels": {"county": {
            "units": {"level": "county"}, "normalise_weights": True, "tree": tree,
            "ranking": ranking,
            "consequences": {"praised": {"label": "通报表扬", "top": top},
                             "summoned": {"label": "约谈", "bottom": bottom}}}}})


def indicator_codes(data: ak.Dataset) -> list[str]:
    """The dataset's indicator codes (role ``indicator``), in file order."""
    return data.indicators.loc[data.indicators["role"] == "indicator", "indicator"].tolist()


def timed(fn):
    """``fn()``'s result and its wall time in seconds."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def repeated(fn, repeat: int):
    """Result of the last call, best wall time, and every call's time (the first is cold)."""
    times = []
    for _ in range(repeat):
        out, t = timed(fn)
        times.append(t)
    return out, min(times), times


def traced_peak(fn) -> float:
    """Peak traced memory (MB) of one call of ``fn``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def best_of(fn, repeat: int):
    """Result, best wall time of ``repeat`` calls, and the peak traced memory (MB) of one more."""
    out, best, _ = repeated(fn, repeat)
    return out, best, traced_peak(fn)


def rss_mb() -> float:
    """Peak resident memory of this process so far (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
