"""Benchmark: the full Sichuan report set for one year, and a re-run with nothing changed.

The set for 2025 is 75 pages: the overview, 3 regional groups, 39 counties, 8 prefectures and
24 provincial units, plus the Excel workbook and CSV files. Prints the whole time, pages per
minute, and the time of a re-run in which every page is unchanged (aims on a 2-core machine:
under 60 s, and under 5 s). Also times papermill with a fresh kernel per page against the warm
kernel the report uses, on a few pages (why the report keeps warm kernels).

    .venv/bin/python benchmarks/bench_report.py [--jobs 2] [--period 2025]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path


def cold_vs_warm(pages: int = 3) -> tuple[float, float]:
    """Seconds per unit page: papermill starting a kernel per page, and one warm kernel."""
    import os

    import papermill

    from assesskit.report.batch import notebook_dir
    from assesskit.report.kernel import KERNEL_NAME, NotebookRunner, write_kernelspec

    nb = notebook_dir() / "unit-report.ipynb"
    units = ["511781", "511322", "511324", "511922"][:pages]
    with tempfile.TemporaryDirectory() as tmp:
        kernels = write_kernelspec(Path(tmp))
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = str(kernels.parent)
        try:
            start = time.perf_counter()
            for unit in units:
                papermill.execute_notebook(str(nb), None, parameters={"unit": unit},
                                           kernel_name=KERNEL_NAME, progress_bar=False)
            cold = (time.perf_counter() - start) / len(units)
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old
    with NotebookRunner() as runner:
        runner.run(nb, {"unit": units[0]})  # start the kernel and fill its caches
        start = time.perf_counter()
        for unit in units:
            runner.run(nb, {"unit": unit})
        warm = (time.perf_counter() - start) / len(units)
    return cold, warm


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of every child it has waited for (the
    worker processes, which wait for their kernels)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--period", default="2025")
    args = parser.parse_args()
    import os

    from assesskit.report.batch import make_report

    print(f"load average before: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    cold, warm = cold_vs_warm()
    print(f"one unit page: {cold:.2f} s with a fresh kernel, {warm:.2f} s in a warm kernel")
    with tempfile.TemporaryDirectory() as out:
        cpu_before = _cpu_seconds()
        start = time.perf_counter()
        run = make_report("sichuan-39", None, args.period, out, jobs=args.jobs, progress=False)
        whole = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_before
        kinds = {k: sum(p["kind"] == k for p in run.pages) for k in ("overview", "group", "unit")}
        print(f"full set {args.period}: {len(run.pages)} pages ({kinds}), {len(run.failed)} "
              f"failed, jobs={args.jobs}: {whole:.1f} s, {60 * len(run.pages) / whole:.0f} "
              "pages per minute (aim: under 60 s)")
        print(f"CPU time of the run (this process, its workers and their kernels): {cpu:.1f} s; "
              f"on 2 otherwise idle cores that is about {cpu / 2:.0f} s of wall time "
              "(the load average says how busy the machine was)")
        start = time.perf_counter()
        again = make_report("sichuan-39", None, args.period, out, jobs=args.jobs, progress=False)
        rerun = time.perf_counter() - start
        print(f"re-run with nothing changed: {len(again.unchanged)} pages unchanged, "
              f"{rerun:.2f} s (aim: under 5 s)")


if __name__ == "__main__":
    main()
