"""A hostile copy of the Sichuan example for report tests: unsafe names, clashing ids, a scheme
whose name tries to climb out of the output folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT_NAME = "<script>alert(1)</script>"
PIPE_NAME = "营山|县\n第二行"
FORMULA_NAME = '=HYPERLINK("http://example.invalid","点我")'
# (old id, new id): 仪陇县 becomes C/1 and 平昌县 C_1; both are in 秦巴山区
NEW_IDS = {"511324": "C/1", "511923": "C_1"}


def hostile_inputs(root: Path) -> tuple[Path, Path]:
    """Write the hostile dataset and scheme under ``root``; return (dataset dir, scheme file)."""
    src = REPO / "data" / "sichuan-39"
    data = root / "hostile-data"
    data.mkdir(parents=True)
    for name in ("indicators.csv",):
        shutil.copy(src / name, data / name)
    meta = yaml.safe_load((src / "dataset.yaml").read_text(encoding="utf-8"))
    meta["name"] = "hostile-test"
    (data / "dataset.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    units = pd.read_csv(src / "units.csv", dtype=str, keep_default_na=False)
    units.loc[units["unit"] == "511781", "name"] = SCRIPT_NAME
    units.loc[units["unit"] == "511322", "name"] = PIPE_NAME
    units.loc[units["unit"] == "511921", "name"] = FORMULA_NAME
    units["unit"] = units["unit"].replace(NEW_IDS)
    units.to_csv(data / "units.csv", index=False)
    values = pd.read_csv(src / "values.csv", dtype=str, keep_default_na=False)
    values["unit"] = values["unit"].replace(NEW_IDS)
    values.to_csv(data / "values.csv", index=False)
    scheme = yaml.safe_load((REPO / "assesskit/scheme/builtin/sichuan-39.yaml").read_text(encoding="utf-8"))
    scheme["name"] = "../../x"
    path = root / "hostile-scheme.yaml"
    path.write_text(yaml.safe_dump(scheme, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return data, path
