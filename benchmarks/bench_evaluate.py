"""Benchmark: score the national-scale synthetic panel for one period.

About 2,850 counties in 30 provinces × 60 indicators: leaf scoring (min–max within province),
a 3-level hierarchy, grouped ranks with top/bottom quotas, and the full contributions table.
Prints wall time (best of ``--repeat`` runs) and peak memory (tracemalloc) of each step.

    python benchmarks/bench_evaluate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import assesskit as ak
from assesskit.data.synthetic import national_panel


def national_scheme(data: ak.Dataset) -> dict:
    """Six dimensions of ten indicators each, equal weights, quotas per province."""
    codes = data.indicators.loc[data.indicators["role"] == "indicator", "indicator"].tolist()
    dims = {}
    for d in range(0, len(codes), 10):
        block = codes[d : d + 10]
        dims[f"dim{d // 10 + 1}"] = {
            "weight": 1,
            "normalise_weights": True,
            "children": {c: {"weight": 1} for c in block},
        }
    return {
        "name": "national-benchmark",
        "defaults": {"scoring": {"method": "minmax", "within": "group", "range": [60, 100]},
                     "missing": "renormalise"},
        "levels": {
            "county": {
                "normalise_weights": True,
                "tree": dims,
                "ranking": {"group_by": "group", "ties": {"method": "min", "decimals": 2}},
                "consequences": {"praised": {"label": "表扬", "top": 3},
                                 "summoned": {"label": "约谈", "bottom": 1}},
            }
        },
    }


def timed(fn, repeat: int):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, best, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = national_panel()
    print(f"national panel: {data!r} (generated in {time.perf_counter() - t0:.2f} s)")
    scheme = ak.load_scheme(national_scheme(data))
    period = data.periods[-1]

    ev, t_eval, m_eval = timed(lambda: ak.evaluate(scheme, data, period), args.repeat)
    n_units = len(ev.scores)
    print(f"evaluate (scores, grouped ranks, quotas): {t_eval:.3f} s, peak {m_eval:.0f} MiB, "
          f"{n_units} units × {len(scheme.levels['county'].root.leaves())} indicators")

    def with_contributions():
        e = ak.evaluate(scheme, data, period)
        return e.contributions

    contrib, t_all, m_all = timed(with_contributions, args.repeat)
    print(f"evaluate + contributions table ({len(contrib):,} rows): {t_all:.3f} s, peak {m_all:.0f} MiB")
    print(f"aim: under 1 s for evaluate + contributions -> {'met' if t_all < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
