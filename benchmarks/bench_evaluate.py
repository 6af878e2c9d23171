"""Benchmark: score the national-scale synthetic panel for one period.

About 2,850 counties in 30 provinces × 60 indicators: leaf scoring (min–max within province),
a 3-level hierarchy, grouped ranks with top/bottom quotas, and the full contributions table.
Prints wall time (best of ``--repeat`` runs) and peak memory (tracemalloc) of each step, then
the per-call time of the three-level sichuan-39 scheme on its 39 counties.

    python benchmarks/bench_evaluate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import best_of, indicator_codes, national_scheme, timed

import assesskit as ak
from assesskit.data.synthetic import national_panel

ROOT = Path(__file__).resolve().parents[1]


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
    print(f"aim: evaluate national <= 0.1 s -> {'met' if t_eval <= 0.1 else 'NOT met'}")

    # the small case: per-call overhead of a three-level scheme on 39 counties
    sichuan = ak.load_scheme("sichuan-39")
    small = ak.load_dataset(ROOT / "data" / "sichuan-39")
    p39 = small.periods[-1]
    ak.evaluate(sichuan, small, p39)  # compile the level templates once
    calls = 100
    per_call = []
    for _ in range(max(args.repeat, 3)):
        _, t = timed(lambda: [ak.evaluate(sichuan, small, p39) for _ in range(calls)])
        per_call.append(t / calls)
    best = min(per_call)
    print(f"evaluate sichuan-39 ({', '.join(sichuan.levels)}; {p39}): {1e3 * best:.1f} ms per "
          f"call, best of {len(per_call)} batches of {calls} "
          f"({', '.join(f'{1e3 * t:.1f}' for t in per_call)} ms)")
    print(f"aim: evaluate sichuan-39 <= 5 ms -> {'met' if best <= 0.005 else 'NOT met'}")


if __name__ == "__main__":
    main()
