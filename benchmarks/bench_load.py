"""Benchmark: read a user's dataset from disk (CSV in UTF-8 and GBK, long and wide, and .xlsx).

The national synthetic panel (2,850 counties × 60 indicators, ``--years`` years) is written to a
temporary folder as a user would keep it: values as text with a percent sign on every tenth
cell, a few "—" markers, Chinese names. Each layout is then loaded with
:func:`assesskit.load_dataset` (reading, encoding check, number parsing, validation, notices).
A smaller workbook (``--book-counties`` counties) measures the .xlsx reader. Prints wall time
(best of ``--repeat`` runs) and peak memory (tracemalloc) of each load.

    python benchmarks/bench_load.py [--years 3] [--repeat 2] [--book-counties 300]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from common import best_of

import assesskit as ak
from assesskit.data.synthetic import national_panel


def as_typed(ds: ak.Dataset) -> dict[str, pd.DataFrame]:
    """The three tables as text cells, as a person types them."""
    values = ds.values.copy()
    text = values["value"].map(lambda x: f"{x:.2f}")
    text[::10] = text[::10] + "%"
    text[5::1000] = "—"
    values["value"] = text
    units = ds.units[["unit", "name", "level", "parent", "group", "subgroup"]].copy()
    units["name"] = "县" + units["unit"]
    indicators = ds.indicators[["indicator", "direction"]].copy()
    return {"units": units, "indicators": indicators, "values": values}


def write_folder(tables: dict[str, pd.DataFrame], folder: Path, encoding: str, wide: bool) -> Path:
    folder.mkdir(parents=True)
    for name, frame in tables.items():
        if name == "values" and wide:
            frame = frame.pivot(index=["unit", "period"], columns="indicator",
                                values="value").reset_index()
        frame.to_csv(folder / f"{name}.csv", index=False, encoding=encoding)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--book-counties", type=int, default=300)
    args = parser.parse_args()

    panel = national_panel(n_years=args.years)
    tables = as_typed(panel)
    n = len(tables["values"])
    print(f"national panel: {len(panel.units)} units, {len(panel.indicators)} indicators, "
          f"{n:,} values")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = {
            "CSV UTF-8, long": write_folder(tables, tmp / "utf8", "utf-8", wide=False),
            "CSV GBK, long": write_folder(tables, tmp / "gbk", "gbk", wide=False),
            "CSV UTF-8, wide": write_folder(tables, tmp / "wide", "utf-8", wide=True),
        }
        for label, folder in cases.items():
            layout = "wide" if "wide" in label else "long"
            ds, seconds, peak = best_of(lambda f=folder, lay=layout: ak.load_dataset(
                f, values_layout=lay), args.repeat)
            assert len(ds.values) == n
            print(f"{label:18s} {seconds:6.2f} s  peak {peak:7.1f} MiB  "
                  f"({n / seconds / 1e6:.2f} M values/s; {len(ds.notices)} notice(s))")

        keep = set(panel.units["unit"][panel.units["level"] == "county"][: args.book_counties])
        book = tmp / "book.xlsx"
        small = {k: v for k, v in tables.items()}
        small["values"] = tables["values"][tables["values"]["unit"].isin(keep)]
        small["units"] = tables["units"][tables["units"]["unit"].isin(keep)
                                         | (tables["units"]["level"] == "province")]
        with pd.ExcelWriter(book, engine="openpyxl") as writer:
            for name, frame in small.items():
                frame.to_excel(writer, sheet_name=name, index=False)
        m = len(small["values"])
        ds, seconds, peak = best_of(lambda: ak.load_dataset(book), args.repeat)
        assert len(ds.values) == m and np.isfinite(ds.values["value"]).sum() > 0
        print(f"{'xlsx, long':18s} {seconds:6.2f} s  peak {peak:7.1f} MiB  "
              f"({m / seconds / 1e3:.0f} k values/s, {m:,} values)")


if __name__ == "__main__":
    main()
