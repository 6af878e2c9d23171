"""Benchmark of the regional-grouping analysis (assesskit.analysis.grouping.regroup).

Prints, for the national-scale synthetic panel (2,850 counties in 30 provinces, 60 indicators)
with 10 alternative groupings (the official provinces with official and with equal quotas, one
pool, the region type, k-means and Ward clusters with 4 and 8 clusters of the first year's
indicators, tertiles and quintiles of the first indicator in the first year, and a user mapping
of 20 random groups), each evaluated under every one of 1,000 random designs (weights ±25%,
normalisation min–max | z-score):

1. the wall time (best of ``--repeat`` calls after a warm-up) and the peak traced memory;
2. the fixed cost (everything but the draws: the nominal evaluation, clustering, compiling the
   alternatives) and the time per run (draws × alternatives);
3. the peak traced memory with a quarter of the draws, to show that memory does not grow with
   the number of draws.

Run with ``.venv/bin/python benchmarks/bench_grouping.py`` (``--help`` for options). Peak memory
is the largest memory traced by ``tracemalloc`` during a separate call (numpy reports its array
allocations to tracemalloc), and the process's maximum resident set size at the end.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys

import numpy as np
from common import national_scheme, timed, traced_peak

import assesskit as ak
from assesskit.analysis.grouping import (
    Baseline,
    by_column,
    kmeans,
    mapping,
    official,
    pooled,
    quantiles,
    regroup,
    ward,
)
from assesskit.analysis.uncertainty import vary_normalisation, vary_weights
from assesskit.data.synthetic import national_panel


def alternatives(data, seed: int) -> list:
    """Ten groupings of the national counties."""
    counties = data.level_units("county")
    rng = np.random.default_rng(seed)
    random_groups = {u: f"R{g:02d}" for u, g in zip(counties["unit"],
                                                    rng.integers(0, 20, len(counties)),
                                                    strict=True)}
    return [official(), official("equal", name="official/equal"), pooled(),
            by_column("subgroup", name="region type"), kmeans(4), kmeans(8), ward(4), ward(8),
            quantiles("x01", 3), mapping(random_groups, name="random-20")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=1000, help="random designs (1,000)")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--repeat", type=int, default=2, help="timed calls (2)")
    args = parser.parse_args(argv)
    print(f"assesskit {ak.__version__}, numpy {np.__version__}, python "
          f"{platform.python_version()}, {platform.machine()}")
    data, t_panel = timed(national_panel)
    counties = data.level_units("county")
    codes = data.indicators["indicator"].tolist()
    scheme = national_scheme(codes)
    alts = alternatives(data, args.seed)
    baseline = Baseline(tuple(codes), period=data.periods[0], name="indicators, first year")
    factors = [vary_weights(0.25), vary_normalisation(["minmax", "zscore"])]
    print(f"[national] {len(counties)} counties in {counties['group'].nunique()} provinces x "
          f"{len(codes)} indicators, period 2025 (panel built in {t_panel:.1f} s)")
    print(f"  {len(alts)} alternatives: " + ", ".join(a.name for a in alts))
    print(f"  baseline: the {len(codes)} indicators in {data.periods[0]}; factors: weights ±25%, "
          "normalisation minmax | zscore")

    def run(draws):
        return regroup(scheme, data, 2025, alts, seed=args.seed, draws=draws, factors=factors,
                       baseline=baseline)

    run(50)  # warm-up: imports, caches
    times = []
    res = None
    for _ in range(args.repeat):
        res, t = timed(lambda: run(args.draws))
        times.append(t)
    best = min(times)
    _, t_fixed = timed(lambda: run(0))
    runs = args.draws * len(alts)
    per_run = (best - t_fixed) / runs
    print(f"  regroup(): {best:.1f} s best of {args.repeat} ({', '.join(f'{t:.1f}' for t in times)}"
          f" s) for {args.draws} draws x {len(alts)} alternatives = {runs} runs")
    print(f"    fixed cost (nominal evaluation, clusterings, compiling the alternatives, the "
          f"nominal run): {t_fixed:.1f} s; the runs {best - t_fixed:.1f} s "
          f"({1e3 * per_run:.2f} ms per run, {1e9 * per_run / len(counties):.0f} ns per run "
          "and county)")
    peak = traced_peak(lambda: run(args.draws))
    quarter = max(DRAWS_MIN, args.draws // 4)
    peak_quarter = traced_peak(lambda: run(quarter))
    print(f"  peak traced memory: {peak:.0f} MB with {args.draws} draws, {peak_quarter:.0f} MB "
          f"with {quarter} draws (memory does not grow with draws: ratio "
          f"{peak / peak_quarter:.2f})")
    a = res.alternatives.set_index("alternative")
    print("  units changing fate against the official design: "
          + ", ".join(f"{k} {v}" for k, v in a["units_changing_fate"].items()))

    def verdict(ok):
        return "met" if ok else "NOT met"

    print(f"  targets: under 30 s: {verdict(best < 30)}; memory flat in draws (ratio < 1.25): "
          f"{verdict(peak / peak_quarter < 1.25)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 2**20 if sys.platform == "darwin" else rss / 1024
    print(f"\nprocess maximum resident set size: {rss_mb:.0f} MB")
    return 0


DRAWS_MIN = 50

if __name__ == "__main__":
    raise SystemExit(main())
