"""Benchmark: score the national-scale synthetic panel for one period.

About 2,850 counties in 30 provinces × 60 indicators: leaf scoring (min–max within province),
a 3-level hierarchy, grouped ranks with top/bottom quotas, and the full contributions table.
Prints wall time (best of ``--repeat`` runs) and peak memory (tracemalloc) of each step.

    python benchmarks/bench_evaluate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from common import best_of, indicator_codes, national_scheme

import assesskit as ak
from assesskit.data.synthetic import national_panel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    data = national_panel()
    print(f"national panel: {data!r} (generated in {time.perf_counter() - t0:.2f} s)")
    scheme = national_scheme(indicator_codes(data))
    period = data.periods[-1]

    ev, t_eval, m_eval = best_of(lambda: ak.evaluate(scheme, data, period), args.repeat)
    n_units = len(ev.scores)
    print(f"evaluate (scores, grouped ranks, quotas): {t_eval:.3f} s, peak {m_eval:.0f} MiB, "
          f"{n_units} units × {len(scheme.levels['county'].root.leaves())} indicators")

    def with_contributions():
        e = ak.evaluate(scheme, data, period)
        return e.contributions

    contrib, t_all, m_all = best_of(with_contributions, args.repeat)
    print(f"evaluate + contributions table ({len(contrib):,} rows): {t_all:.3f} s, peak {m_all:.0f} MiB")
    print(f"aim: under 1 s for evaluate + contributions -> {'met' if t_all < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
