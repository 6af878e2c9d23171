"""Benchmark of the vectorised uncertainty analysis (assesskit.analysis.uncertainty).

Prints, for the national-scale synthetic panel (about 2,850 counties x 60 indicators) and for
the Sichuan 39 counties:

1. the wall time and peak memory of ``uncertainty()`` with weights, normalisation and
   aggregation all uncertain (10,000 runs by default);
2. the "floor": a bare numpy loop that only perturbs the weights, multiplies and ranks within
   groups, in chunks of 500 draws, on the same national data, and the ratio to it;
3. the same Sichuan problem run as a loop over ``evaluate()`` of each run's rebuilt scheme, on
   fewer runs and extrapolated, and the ratio between the two.

Run with ``.venv/bin/python benchmarks/bench_uncertainty.py`` (``--help`` for options). Times
are wall-clock seconds after a small warm-up call (imports, caches): the best and the median of
``--repeat`` calls (3), as ``timeit`` reports, because single timings on a shared 2-core machine
vary by a quarter. Ratios use the best times. Peak memory is the largest memory traced by
``tracemalloc`` during a separate call (numpy reports its array allocations to tracemalloc),
and the process's maximum resident set size at the end.
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys

import numpy as np
from common import national_scheme, repeated, timed, traced_peak

import assesskit as ak
from assesskit.analysis.uncertainty import uncertainty
from assesskit.analysis.uncertainty import vary_aggregation as aggregation
from assesskit.analysis.uncertainty import vary_normalisation as normalisation
from assesskit.analysis.uncertainty import vary_weights as weights
from assesskit.data.synthetic import national_panel

CHUNK = 500


def factors():
    return [weights(0.25), normalisation(["minmax", "zscore"]),
            aggregation(["arithmetic", "geometric"])]


def base_rows(draws: int, k: int) -> int:
    """Base rows n of the Sobol' design giving ``draws = n (k + 2)`` runs."""
    return max(2, draws // (k + 2))


def listed(times) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


def floor_loop(scores: np.ndarray, groups: np.ndarray, weights: np.ndarray, draws: int,
               seed: int) -> np.ndarray:
    """Bare numpy: perturb weights ±25%, multiply, rank within groups; chunks of 500 draws.

    ``scores`` (units x indicators) are the nominal leaf scores, ``weights`` the effective
    indicator weights. Returns the last chunk's ranks (to keep the work observable).
    """
    rng = np.random.default_rng(seed)
    n = scores.shape[0]
    order = np.argsort(groups, kind="stable")
    sizes = np.bincount(groups)
    start = np.repeat(np.concatenate([[0], np.cumsum(sizes)[:-1]]), sizes)
    pos = np.arange(n)
    ranks = None
    for s in range(0, draws, CHUNK):
        d = min(CHUNK, draws - s)
        w = weights * rng.uniform(0.75, 1.25, (d, len(weights)))
        w /= w.sum(axis=1, keepdims=True)
        total = w @ scores.T  # (d, n)
        key = groups[None, :] * 1000.0 - total  # group first, then best total first
        idx = np.argsort(key, axis=1)
        ranks = np.empty((d, n))
        np.put_along_axis(ranks, idx, (pos - start + 1).astype(float), axis=1)
    del order
    return ranks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=10_000, help="runs per analysis (10,000)")
    parser.add_argument("--loop-runs", type=int, default=200,
                        help="runs of the evaluate() loop, extrapolated (200)")
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per figure (3)")
    args = parser.parse_args(argv)
    k = len(factors())
    n = base_rows(args.draws, k)
    draws = n * (k + 2)
    print(f"assesskit {ak.__version__}, numpy {np.__version__}, python "
          f"{platform.python_version()}, {platform.machine()}")
    print(f"factors: weights ±25% (uniform, one multiplier per node), normalisation "
          f"(minmax [60,100] | zscore 80+10z), aggregation (arithmetic | geometric); "
          f"Sobol' design n={n}, {draws} runs, chunks of {CHUNK}")

    # ------------------------------------------------------------------ national panel
    data = national_panel()
    counties = data.level_units("county")
    codes = data.indicators["indicator"].tolist()
    scheme = national_scheme(codes)
    print(f"\n[national] {len(counties)} counties in {counties['group'].nunique()} provinces x "
          f"{len(codes)} indicators (6 dimensions x 10), period 2025")

    def run_national(nn=n):
        return uncertainty(scheme, data, 2025, factors=factors(), n=nn, seed=args.seed,
                              chunk_size=CHUNK)

    run_national(8)  # warm-up
    res, t_uq, med_uq = repeated(run_national, args.repeat)
    peak_uq = traced_peak(run_national)
    _, t_fixed, _ = repeated(lambda: run_national(2), args.repeat)  # 8 runs: the fixed cost
    _, t_nominal, _ = repeated(lambda: ak.evaluate(scheme, data, 2025), args.repeat)
    t_runs = t_uq - t_fixed
    print(f"  uncertainty(): {t_uq:.2f} s best of {args.repeat} calls ({listed(med_uq)} s; the "
          f"first call in a process is the slowest) for {len(res.draws)} runs; peak traced "
          f"memory {peak_uq:.0f} MB")
    print(f"    of which fixed cost (compile: nominal evaluate(), leaf scores per option, "
          f"plans) {t_fixed:.2f} s — the engine's own nominal evaluate() alone {t_nominal:.2f} s "
          f"— and the {len(res.draws)} runs {t_runs:.2f} s "
          f"({1e9 * t_runs / len(res.draws) / len(counties):.0f} ns per run and county)")

    # The floor: the nominal leaf scores and effective leaf weights of the same scheme.
    ev = ak.evaluate(scheme, data, 2025)
    lr = ev.level_results["county"]
    leaves = [j for j, nd in enumerate(lr.nodes) if nd.kind == "leaf"]
    parent_w = {c.id: nd.weight for nd in lr.nodes for c in nd.children}
    leaf_w = np.array([lr.nodes[j].weight * parent_w[lr.nodes[j].id] for j in leaves])
    leaf_scores = np.ascontiguousarray(lr.score[:, leaves])
    group_codes = np.unique(lr.units["group"].to_numpy(dtype=str), return_inverse=True)[1]
    floor_loop(leaf_scores, group_codes, leaf_w, CHUNK, args.seed)  # warm-up
    _, t_floor, med_floor = repeated(
        lambda: floor_loop(leaf_scores, group_codes, leaf_w, draws, args.seed), args.repeat)
    print(f"  floor (bare numpy: perturb weights, multiply, rank within provinces; chunks of "
          f"{CHUNK}): {t_floor:.2f} s best ({listed(med_floor)} s) for {draws} draws")
    print(f"  ratio uncertainty() / floor: {t_uq / t_floor:.2f} in total, "
          f"{t_runs / t_floor:.2f} for the runs alone (without the fixed cost)")
    def verdict(ok):
        return "met" if ok else "NOT met"

    print(f"  targets: total < 5 s: {verdict(t_uq < 5)}; peak < 2 GB: {verdict(peak_uq < 2048)}; "
          f"runs within 1.5x of the floor: {verdict(t_runs / t_floor <= 1.5)} "
          f"({t_runs / t_floor:.1f}x); total within 1.5x (issue 8): {verdict(t_uq / t_floor <= 1.5)} "
          f"({t_uq / t_floor:.1f}x)")

    # ------------------------------------------------------------------ Sichuan 39
    sichuan = ak.datasets.load("sichuan-39")
    print("\n[sichuan-39] 39 counties x 13 indicators, scheme sichuan-39, period 2025")

    def run_sichuan(nn=n):
        return uncertainty("sichuan-39", sichuan, 2025, factors=factors(), n=nn,
                              seed=args.seed, chunk_size=CHUNK)

    run_sichuan(8)
    res39, t39, med39 = repeated(run_sichuan, args.repeat)
    peak39 = traced_peak(run_sichuan)
    print(f"  uncertainty(): {t39:.2f} s best ({listed(med39)} s) for {len(res39.draws)} runs; "
          f"peak traced memory {peak39:.0f} MB")
    loop_runs = min(args.loop_runs, len(res39.draws))

    def loop():
        for i in range(loop_runs):
            ak.evaluate(res39.rebuild(i), sichuan, 2025)

    _, t_loop = timed(loop)
    per_run = t_loop / loop_runs
    t_loop_all = per_run * len(res39.draws)
    print(f"  loop over evaluate(result.rebuild(i)): {t_loop:.2f} s for {loop_runs} runs "
          f"({1000 * per_run:.1f} ms per run) -> extrapolated to {len(res39.draws)} runs: "
          f"{t_loop_all:.0f} s (measured on {loop_runs} runs, extrapolated linearly)")
    print(f"  ratio evaluate() loop / vectorised: {t_loop_all / t39:.0f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / 2**20 if sys.platform == "darwin" else rss / 1024
    print(f"\nprocess maximum resident set size: {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
