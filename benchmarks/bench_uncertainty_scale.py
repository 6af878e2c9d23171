"""Benchmark: memory and time of the uncertainty analysis at scale (one scenario per process).

Scenarios (``--scenario``):

``pooled``
    the national panel (2,850 counties, 60 indicators) ranked in ONE group, weights only,
    10,000 runs: the rank histograms are units x (2 x 2,850 + 2) counts, the worst case for
    memory at this size (aim: peak resident memory under 500 MB).
``township``
    16 x the national panel: 45,600 units in 30 provinces x 60 indicators, weights ±25% plus
    normalisation and aggregation, 10,000 runs (aim: under 8 GB and 3 minutes).
``scale4``
    the national benchmark's own factor set (weights, min–max | z-score, arithmetic |
    geometric) on 4 x the national panel (11,400 units), 1,000 runs: the set once failed at
    this scale (a z-score below zero under a geometric mean) and must now run.

Each scenario prints wall time, the peak memory traced by tracemalloc (numpy's arrays) and the
process's maximum resident set size. Run every scenario with ``--scenario all`` (each in its
own process, so that their peaks do not mix).

    python benchmarks/bench_uncertainty_scale.py --scenario all
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc

from common import national_scheme, rss_mb

from assesskit.analysis.uncertainty import (
    uncertainty,
    vary_aggregation,
    vary_normalisation,
    vary_weights,
)
from assesskit.data.synthetic import national_panel

SCENARIOS = ("pooled", "township", "scale4")


def run(scenario: str, seed: int) -> None:
    if scenario == "pooled":
        data, grouped, draws = national_panel(n_years=1), False, 10_000
        factors = [vary_weights(0.25)]
    elif scenario == "township":
        data, grouped, draws = national_panel(n_counties=45_600, n_years=1), True, 10_000
        factors = [vary_weights(0.25), vary_normalisation(["minmax", "zscore"]),
                   vary_aggregation(["arithmetic", "geometric"])]
    else:
        data, grouped, draws = national_panel(n_counties=11_400, n_years=1), True, 1_000
        factors = [vary_weights(0.25), vary_normalisation(["minmax", "zscore"]),
                   vary_aggregation(["arithmetic", "geometric"])]
    codes = data.indicators["indicator"].tolist()
    scheme = national_scheme(codes, grouped, name="scale-benchmark")
    n = max(2, draws // (len(factors) + 2))
    period = data.periods[-1]
    units = len(data.level_units("county"))
    print(f"[{scenario}] {units:,} units, {'grouped by province' if grouped else 'one pool'}, "
          f"{len(codes)} indicators; {n * (len(factors) + 2):,} runs; data loaded, "
          f"max RSS so far {rss_mb():.0f} MB")
    tracemalloc.start()
    start = time.perf_counter()
    res = uncertainty(scheme, data, period, factors=factors, n=n, seed=seed)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  uncertainty(): {elapsed:.1f} s, chunks of {res.chunk_size} runs; peak traced "
          f"memory {peak / 2**20:.0f} MB; maximum resident set size {rss_mb():.0f} MB; rank "
          f"resolution {res.rank_resolution:g}")
    print(f"  per run and unit: {1e9 * elapsed / len(res.draws) / units:.0f} ns")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--seed", type=int, default=20250601)
    args = parser.parse_args(argv)
    if args.scenario == "all":
        for s in SCENARIOS:
            subprocess.run([sys.executable, __file__, "--scenario", s, "--seed", str(args.seed)],
                           check=True)
        return 0
    run(args.scenario, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
