"""assesskit report: the report set on disk, resumable runs, removals, failures, Dask, safety.

Uses the small hostile report set of ``conftest.hostile_report`` (Sichuan 2025, group 秦巴山区,
unit names with ``<script>``, ``|`` and a formula, ids ``C/1`` and ``C_1``, a scheme named
``../../x``).
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess

import pytest
from report_helpers import FORMULA_NAME, REPO

from assesskit.report.batch import file_hash, make_report
from assesskit.report.safe import slug

pytestmark = pytest.mark.slow


def _manifest(run):
    return json.loads((run.folder / "manifest.json").read_text(encoding="utf-8"))


def test_the_set_stays_inside_out(hostile_report):
    run, out, _, _ = hostile_report
    assert run.folder == (out / slug("../../x")).resolve()
    assert [p.name for p in out.parent.iterdir()] == ["nested"]  # nothing climbed out
    assert [p.name for p in out.iterdir()] == [slug("../../x")]


def test_pages_index_manifest_and_tables(hostile_report):
    run, *_ = hostile_report
    assert not run.failed
    # overview, the group page, 10 counties, their 4 prefectures
    kinds = [p["kind"] for p in run.pages]
    assert kinds.count("overview") == 1 and kinds.count("group") == 1 and len(run.pages) == 16
    m = _manifest(run)
    assert m["seeds"]["uncertainty"] == {"seed": 20240423, "n_draws": 64}
    assert m["data"]["kind"] == "synthetic" and len(m["scheme"]["sha256"]) == 64
    for page in m["pages"]:
        assert page["status"] == "ok"
        assert file_hash(run.folder / page["path"]) == page["output_sha256"]
        assert page["parameters"]["period"] == "2025"
    for name in ("index.html", "results-2025.xlsx", "2025/csv/scores.csv"):
        assert (run.folder / name).is_file()
    assert len(run.to_frame()) == 16
    assert "<script>" not in run._repr_html_() and "&lt;script&gt;" in run._repr_html_()


def test_clashing_ids_get_their_own_pages(hostile_report):
    run, *_ = hostile_report
    pages = {p["unit"]: run.folder / p["path"] for p in run.pages if p["kind"] == "unit"}
    assert pages["C/1"] != pages["C_1"]
    assert "(C/1)" in pages["C/1"].read_text(encoding="utf-8")
    assert "(C_1)" in pages["C_1"].read_text(encoding="utf-8")


def test_every_page_escapes_names_and_shows_no_nan(hostile_report):
    run, *_ = hostile_report
    for page in run.pages:
        text = (run.folder / page["path"]).read_text(encoding="utf-8")
        assert "<script" not in text.lower(), page["path"]
        assert "nan/100" not in text and ">nan<" not in text, page["path"]
    unit = next(p for p in run.pages if p["unit"] == "511781")
    text = (run.folder / unit["path"]).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    index = (run.folder / "index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index and "<script" not in index


def test_excel_and_csv_cannot_run_formulas(hostile_report):
    from openpyxl import load_workbook

    run, *_ = hostile_report
    wb = load_workbook(run.folder / "results-2025.xlsx")
    ws = wb["秦巴山区"]
    assert ws.freeze_panes == "A3"
    assert ws["A1"].value == "组内排名" and ws["A2"].value == "group rank"
    header = [c.value for c in ws[2]]
    name_col, outcome_col = header.index("name") + 1, header.index("outcome") + 1
    names = {ws.cell(r, name_col).value: r for r in range(3, ws.max_row + 1)}
    cell = ws.cell(names["'" + FORMULA_NAME], name_col)
    assert cell.data_type == "s"
    praised_row = next(r for r in range(3, ws.max_row + 1)
                       if ws.cell(r, outcome_col).value == "通报表扬")
    assert ws.cell(praised_row, 1).fill.fgColor.rgb.endswith("DBEAF7")
    raw = (run.folder / "2025/csv/scores.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert "'" + FORMULA_NAME in {r["name"] for r in rows}
    assert not any(r["name"].startswith(("=", "+", "-", "@")) for r in rows)


def test_rerun_skips_everything_and_a_deleted_page_comes_back(hostile_report):
    run, out, data, scheme = hostile_report
    before = (run.folder / "manifest.json").read_bytes()
    again = make_report(str(scheme), str(data), "2025", out, jobs=1, groups=["秦巴山区"],
                        progress=False)
    assert again.rendered == [] and len(again.unchanged) == 16
    assert (run.folder / "manifest.json").read_bytes() == before
    victim = next(p for p in run.pages if p["unit"] == "511903")
    path = run.folder / victim["path"]
    digest = file_hash(path)
    path.unlink()
    third = make_report(str(scheme), str(data), "2025", out, jobs=1, groups=["秦巴山区"],
                        progress=False)
    assert third.rendered == [victim["id"]]
    assert file_hash(path) == digest  # deterministic: the same bytes again


def test_pages_of_units_gone_from_the_data_are_removed(hostile_report):
    run, out, data, scheme = hostile_report
    m = _manifest(run)
    gone = dict(m["pages"][-1], id="unit/2025/county//999999", unit="999999",
                path="2025/units/county/999999.html")
    (run.folder / gone["path"]).write_text("old", encoding="utf-8")
    m["pages"].append(gone)
    (run.folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    again = make_report(str(scheme), str(data), "2025", out, jobs=1, groups=["秦巴山区"],
                        progress=False)
    assert again.removed == ["2025/units/county/999999.html"]
    assert not (run.folder / gone["path"]).exists()
    assert "999999.html" in (run.folder / "index.html").read_text(encoding="utf-8")


def test_dask_executor_and_a_failing_page(hostile_report, tmp_path):
    pytest.importorskip("distributed")
    _, _, data, scheme = hostile_report
    notebooks = tmp_path / "notebooks"
    shutil.copytree(REPO / "notebooks", notebooks)
    nb = json.loads((notebooks / "unit-report.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code" and "page.summary()" in "".join(c["source"]))
    cell["source"] = ['if unit == "C_1":\n', '    raise RuntimeError("this page fails on purpose")\n',
                      "page.summary()"]
    (notebooks / "unit-report.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    run = make_report(str(scheme), str(data), "2025", tmp_path / "out", jobs=2, executor="dask",
                      groups=["秦巴山区"], notebooks=notebooks, progress=False)
    assert [p["unit"] for p in run.failed] == ["C_1"]
    assert "RuntimeError: this page fails on purpose" in run.failed[0]["error"]
    assert sum(p["status"] == "ok" for p in run.pages) == 15  # the others went on
    assert "this page fails on purpose" in run.index.read_text(encoding="utf-8")
    entry = next(p for p in _manifest(run)["pages"] if p["unit"] == "C_1")
    assert entry["status"] == "failed" and entry["output_sha256"] == ""


def test_cli_exit_status_and_period_errors(monkeypatch, capsys):
    from assesskit import cli
    from assesskit.report import batch

    assert cli.main(["report", "--period", "2019"]) == 1
    assert "no report for period '2019'" in capsys.readouterr().err

    class Failed:
        failed = [{"id": "x", "error": "boom"}]

        def summary(self):
            return "1 failed"

    monkeypatch.setattr(batch, "make_report", lambda *a, **k: Failed())
    assert cli.main(["report", "--periods", "2025", "--no-progress"]) == 1


def test_make_passes_the_period():
    plan = subprocess.run(["make", "-n", "report", "PERIOD=2024"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout
    assert "--periods 2024" in plan
    assert "--periods" not in subprocess.run(["make", "-n", "report"], cwd=REPO,
                                             capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("periods, says", [
    ("2024-13", ["--periods 2024-13:", "'2024-13' is neither a period",
                 "there is no month 13", "nor a range of two periods ('13' is not a period)"]),
    ("2024Q5", ["--periods 2024Q5:", "there is no quarter 5"]),
    ("2023,2024-1x", ["--periods 2023,2024-1x:", "'2024-1x' is neither a period"]),
])
def test_a_bad_periods_option_names_the_whole_input_and_the_forms(periods, says, capsys):
    from assesskit import cli

    assert cli.main(["report", "--periods", periods, "--no-progress"]) == 1
    err = capsys.readouterr().err
    for text in [*says, "a range of two periods joined by '-' (2023-2025)",
                 "a list joined by ',' (2023,2025)", "or all"]:
        assert text in err, err
