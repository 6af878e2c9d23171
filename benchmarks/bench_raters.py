"""Benchmark: evaluating a rater-based review, and its grade bootstrap (assesskit.analysis.raters).

Prints the time of ``evaluate`` on the Yingshan review, then the time per 1,000 draws and the peak memory traced, for increasing numbers of draws:
the draws are scored in chunks, and the exact score percentiles are found by histogram passes
over re-generated draws (up to KEEP_MOST draws: one pass), so peak memory should not grow with
the number of draws.

    .venv/bin/python benchmarks/bench_raters.py
"""

from __future__ import annotations

import time
import tracemalloc

import assesskit as ak
from assesskit.analysis.raters import CHUNK, KEEP_MOST, grade_bootstrap
from assesskit.engine.review import review_result


def main() -> None:
    data = ak.datasets.load("yingshan")
    t0 = time.perf_counter()
    ev = ak.evaluate("yingshan-first-secretaries", data, 2015)
    print(f"evaluate yingshan-first-secretaries (draw, 12,500 ratings): "
          f"{time.perf_counter() - t0:.3f} s")
    t0 = time.perf_counter()
    ak.evaluate("yingshan-sending-units", data, 2015)
    print(f"evaluate yingshan-sending-units (evaluates the review, then the linked sending "
          f"units): {time.perf_counter() - t0:.3f} s")
    review = review_result(ev)
    n, r = review.usable.shape
    print(f"yingshan: {n} ratees, {r} raters, chunk {CHUNK} draws, "
          f"one pass up to {KEEP_MOST} draws")
    for n_draws in (500, 2000, 8000):
        tracemalloc.start()
        t0 = time.perf_counter()
        grade_bootstrap(review, data, n_draws=n_draws, seed=1)
        seconds = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{n_draws:>6} draws: {seconds:6.2f} s ({1000 * seconds / n_draws:.3f} s per 1000), "
              f"peak {peak / 2**20:6.1f} MiB")


if __name__ == "__main__":
    main()
