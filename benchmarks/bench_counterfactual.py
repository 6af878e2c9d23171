"""Benchmark: what it would take, and the incentives, for the Sichuan scheme.

All 39 counties × the 10 task indicators × 2 consequences (通报表扬 praised, 约谈 summoned):
every single-indicator threshold (exact on the engine, to a relative precision of 1e-4) and the
cheapest combined change of each county and consequence. Then all 13 indicators, the L2 metric,
the incentives (marginal points, peer dependence, gaming exposure) and a quarterly scheme.
Prints wall time (best of ``--repeat`` runs, everything included: loading the scheme, the
nominal evaluation, compiling the level) and peak memory (tracemalloc).

    python benchmarks/bench_counterfactual.py [--repeat 3]
"""

from __future__ import annotations

import argparse

from common import best_of

import assesskit as ak
from assesskit.analysis.counterfactual import counterfactuals
from assesskit.analysis.incentives import incentives

TASK = ["gdp_per_capita", "fiscal_self_sufficiency", "urban_income", "rural_income",
        "lifted_income_growth", "urbanization_rate", "sewage_garbage_rate",
        "sanitary_toilet_rate", "new_enterprise_share", "water_source_quality"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = ak.datasets.load("sichuan-39")
    dingxi = ak.datasets.load("dingxi")
    ak.evaluate("sichuan-39", data, 2025)  # warm the data caches, as a session would be

    def sichuan(**kw):
        return lambda: counterfactuals("sichuan-39", data, 2025, grades=False, **kw)

    runs = [
        ("39 counties × 10 task indicators × 2 consequences (L1)", sichuan(indicators=TASK)),
        ("39 counties × 13 indicators × 2 consequences (L1)", sichuan()),
        ("39 counties × 10 task indicators × 2 consequences (L2)",
         sichuan(indicators=TASK, metric="l2")),
        ("incentives, 39 counties × 13 indicators (incl. exposure)",
         lambda: incentives("sichuan-39", data, 2025)),
        ("dingxi annual (4 quarters) 7 counties × 11 indicators × 2",
         lambda: counterfactuals("dingxi", dingxi, 2025)),
    ]
    print(f"what it would take — best of {args.repeat} run(s), everything included")
    for label, fn in runs:
        out, seconds, peak = best_of(fn, args.repeat)
        if hasattr(out, "single"):
            problems = len(out.single)
            found = int((out.single["status"] == "found").sum())
            extra = f"{problems} single-indicator problems ({found} found), {len(out.combined)} combined"
        else:
            extra = f"{len(out.marginal)} unit × indicator cells"
        print(f"  {label}: {seconds:.2f} s, peak {peak:.0f} MiB — {extra}")


if __name__ == "__main__":
    main()
