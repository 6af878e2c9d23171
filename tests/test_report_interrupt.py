"""Ctrl-C stops ``assesskit report`` promptly and cleanly, and the next run resumes.

The command runs in a process group of its own and gets SIGINT on the whole group, as a
terminal's Ctrl-C sends it, once its first page is written. It must exit within a generous
bound with the shell's status for an interrupt (130 = 128 + SIGINT), print one line saying it
was interrupted and how to resume (no traceback), leave no half-written file, and record the
pages it finished so that the next run renders only the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from report_helpers import REPO

from assesskit.report.batch import file_hash, make_report

pytestmark = pytest.mark.slow

BOUND = 30  # seconds from SIGINT to exit; the fix takes about 1 s (Dask about 5 s)


def _ok_pages(manifest: Path) -> list[dict]:
    try:
        pages = json.loads(manifest.read_text(encoding="utf-8"))["pages"]
    except (OSError, ValueError, KeyError):  # not written yet
        return []
    return [p for p in pages if p["status"] == "ok"]


def _interrupt_report(out: Path, *extra: str) -> tuple[int, str, float]:
    """Run the report, SIGINT its process group after the first page; (status, stderr, seconds
    from the signal to the exit)."""
    cmd = [sys.executable, "-m", "assesskit", "report", "--scheme", "sichuan-39", "--periods",
           "2022", "--group", "秦巴山区", "--out", str(out), "--no-progress", *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    manifest = out / "sichuan-39" / "manifest.json"
    try:
        deadline = time.monotonic() + 300
        while not _ok_pages(manifest):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no page was written in 300 s"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        sent = time.monotonic()
        try:
            _, err = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"assesskit report did not exit within {BOUND} s of Ctrl-C")
        return proc.returncode, err.decode("utf-8"), time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _check_interrupted_set(folder: Path, status: int, err: str) -> tuple[list[str], list[str]]:
    assert status == 130, err
    assert "Traceback" not in err and "AssertionError" not in err, err
    lines = [line for line in err.splitlines() if "interrupt" in line]
    assert len(lines) == 1, err
    assert "run the same command again" in lines[0]
    # nothing half-written: no temporary file, every page marked done is complete
    assert not [p for p in folder.rglob("*") if ".tmp-" in p.name]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    done = [p for p in manifest["pages"] if p["status"] == "ok"]
    pending = [p for p in manifest["pages"] if p["status"] == "pending"]
    assert done and pending and len(done) + len(pending) == 16  # stopped part-way
    for page in done:
        assert file_hash(folder / page["path"]) == page["output_sha256"]
        assert (folder / page["path"]).read_text(encoding="utf-8").rstrip().endswith("</html>")
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert f"{len(pending)} not rendered yet" in index
    for page in pending:  # not linked from the index as if it existed
        assert f'href="{page["path"]}"' not in index
    return [p["id"] for p in done], [p["id"] for p in pending]


def test_ctrl_c_stops_the_run_and_the_next_run_resumes(tmp_path):
    status, err, seconds = _interrupt_report(tmp_path, "--jobs", "2")
    folder = tmp_path / "sichuan-39"
    done, pending = _check_interrupted_set(folder, status, err)
    assert f"{len(done)} of 16 pages are done" in err
    assert seconds < BOUND

    again = make_report("sichuan-39", None, "2022", tmp_path, jobs=2, groups=["秦巴山区"],
                        progress=False)
    assert sorted(again.unchanged) == sorted(done)
    assert sorted(again.rendered) == sorted(pending)
    assert not again.failed and all(p["status"] == "ok" for p in again.pages)


def test_ctrl_c_stops_a_dask_run(tmp_path):
    pytest.importorskip("distributed")
    status, err, _ = _interrupt_report(tmp_path, "--jobs", "2", "--executor", "dask")
    _check_interrupted_set(tmp_path / "sichuan-39", status, err)
    assert "WARNING" not in err
