"""The report set in a real browser: headless Chromium (Debian's package) driven by Playwright.

Opens index.html and a unit page of the hostile report set (see report_helpers): every link
resolves, the charts are there, no script error happens, the unit named ``<script>...`` is shown
as text. Screenshots are saved to ``reports/screenshots/`` (not kept in git) for a person to look
at. ``.ci/run`` installs Chromium (``apt-get install chromium``); without it the test is skipped
on a developer's machine and fails in CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from report_helpers import REPO, SCRIPT_NAME

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = REPO / "reports" / "screenshots"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=FLAGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


def _open(browser, path: Path):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda d: (errors.append(f"dialog opened: {d.message}"), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


def _links_resolve(page, here: Path) -> int:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert hrefs, f"{here} has no links"
    for h in hrefs:
        url = urlparse(h)
        assert url.scheme == "file", f"{here}: link leaves the report set: {h}"
        assert Path(unquote(url.path)).is_file(), f"{here}: broken link {h}"
    return len(hrefs)


@pytest.mark.slow
def test_index_and_unit_page_in_chromium(browser, hostile_report):
    run, out, _, _ = hostile_report
    SHOTS.mkdir(parents=True, exist_ok=True)

    page, errors = _open(browser, run.index)
    assert _links_resolve(page, run.index) >= 16
    page.screenshot(path=str(SHOTS / "index.png"), full_page=True)
    assert not errors, errors
    page.close()

    unit = next(p for p in run.pages if p["unit"] == "511781")  # the unit named <script>
    path = run.folder / unit["path"]
    page, errors = _open(browser, path)
    assert page.eval_on_selector_all("script", "els => els.length") == 0
    heading = page.inner_text("h1")
    assert SCRIPT_NAME in heading  # shown as text, not run
    charts = page.eval_on_selector_all("img[src^='data:image/png']",
                                       "els => els.map(e => e.naturalWidth)")
    assert len(charts) >= 3 and all(w > 100 for w in charts)  # waterfall, trend, peers
    _links_resolve(page, path)
    page.screenshot(path=str(SHOTS / "unit-page.png"), full_page=True)
    assert not errors, errors
    page.close()

    overview = run.folder / next(p["path"] for p in run.pages if p["kind"] == "overview")
    page, errors = _open(browser, overview)
    assert page.eval_on_selector_all("img[src^='data:image/png']", "els => els.length") >= 2
    assert SCRIPT_NAME in page.inner_text("body")
    _links_resolve(page, overview)
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=False)
    assert not errors, errors
    page.close()
