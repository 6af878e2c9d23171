"""Benchmark: outcome validity and the statistical audit on the bundled panels.

Prints wall time (best of ``--repeat`` runs) and peak traced memory (tracemalloc) of

* ``validity`` on Sichuan (39 counties × 6 periods, six specifications, bootstrap of the lists)
  with 500 and 4000 draws — the bootstrap runs in blocks, so peak memory must not grow with the
  number of draws;
* ``validity`` on the HDR panel (about 190 countries × 23 periods, two-way fixed effects as
  dummies; the fits run with one BLAS thread, see ``validity._regressions``);
* ``audit`` of the Sichuan and Dingxi schemes.

    python benchmarks/bench_validity.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import assesskit as ak
from assesskit.analysis.audit import audit
from assesskit.analysis.validity import validity


def measure(label: str, fn, repeat: int) -> None:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<48} {best:7.2f} s   peak {peak / 2**20:7.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    sichuan, dingxi, hdr = (ak.datasets.load(n) for n in ("sichuan-39", "dingxi", "hdr-2023"))
    for n_boot in (500, 4000):
        measure(f"validity sichuan-39, n_boot {n_boot}",
                lambda n=n_boot: validity("sichuan-39", sichuan, "outcome_gdp_pc_growth_3y",
                                          baseline="gdp_per_capita", n_boot=n, seed=1), repeat)
    measure("validity undp-hdi on hdr-2023, 1995-2017, h=5",
            lambda: validity("undp-hdi", hdr, "gnipc", horizon=5, periods=range(1995, 2018),
                             n_boot=10), repeat)
    measure("audit sichuan-39 2025", lambda: audit("sichuan-39", sichuan, 2025), repeat)
    measure("audit dingxi 2025", lambda: audit("dingxi", dingxi, 2025), repeat)


if __name__ == "__main__":
    main()
