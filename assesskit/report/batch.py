"""Generate a whole report set: every page of every period, resumable, in parallel or on Dask.

:func:`make_report` is what ``assesskit report`` runs. For each period asked for it plans the
pages (the overview, each group of a level ranked in several groups, each assessed unit and each
parent unit; see :mod:`assesskit.report.layout`), runs the notebook of each page through
papermill in a warm kernel (:mod:`assesskit.report.kernel`), exports it to a self-contained HTML
page (:mod:`assesskit.report.html`) and writes the Excel workbook and CSV files
(:mod:`assesskit.report.excel`), then ``index.html`` and ``manifest.json``.

Resumable
    Each page's *input hash* covers the data, the scheme, the notebook template, the page's
    parameters and the package version. A page whose input hash and output file match the
    manifest is skipped. Every file is written under a temporary name and renamed, and the
    manifest is rewritten after every page, so an interrupted run leaves no half-written page
    and the next run does only the rest. Pages of units no longer in the data are removed and
    listed.
Failures
    A page that fails is recorded with its error (manifest and index) and the others go on; the
    caller (the CLI) exits non-zero.
Executors
    ``local``: ``jobs`` worker processes, each with its own warm kernel (``jobs=1``: this
    process). ``dask``: tasks on a :mod:`dask.distributed` cluster (a scheduler address, or a
    ``LocalCluster`` of ``jobs`` workers); workers return the HTML and this process writes it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AssessKitError
from . import layout, tables
from .context import example_data, parse_periods, report_context
from .html import index_page, notebook_to_html
from .render import source_document
from .safe import safe_join, slug

DEFAULT_SEED = 20240423


def package_version() -> str:
    """The installed assesskit distribution's version (recorded in the manifest and in every
    page's input hash: a new version renders every page again)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("assesskit")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"
DEFAULT_DRAWS = 64


def notebook_dir() -> Path:
    """Folder of the report notebooks: the repository's ``notebooks/`` (a source checkout) or
    the copy installed inside the package (a wheel)."""
    here = Path(__file__).resolve()
    checkout = here.parents[2] / "notebooks"
    return checkout if (checkout / layout.ANNUAL_NOTEBOOK).is_file() else here.parents[1] / "_notebooks"


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ---------------------------------------------------------------------- planning
def plan_pages(ctx, periods: Iterable[str], groups: Iterable[str] | None = None) -> list[layout.Page]:
    """Every page of the report set, in a stable order.

    Parameters
    ----------
    ctx : ReportContext
    periods : iterable of str
    groups : iterable of str, optional
        Only these groups: their group pages, their units and the units' parents (and the
        overview). Default every page.

    Returns
    -------
    list of Page
        Per period: the overview, each group of each level ranked in several groups, each
        assessed unit, and each parent of an assessed unit that the scheme does not assess.

    Raises
    ------
    AssessKitError
        Two units whose page file names differ only in case (they would overwrite each other on
        Windows and macOS): the message names them.
    """
    wanted = None if groups is None else set(groups)
    units = ctx.data.units.set_index("unit")
    pages: list[layout.Page] = []
    for period in periods:
        ev = ctx.evaluation(period)
        title = ctx.scheme.spec.get("title", ctx.scheme.name)
        pages.append(layout.Page("overview", ev.period, title=f"{title} · 总览 overview"))
        scores = ev.scores
        if wanted is not None:
            unknown = wanted - set(scores["group"])
            if unknown:
                raise AssessKitError(f"no group {sorted(unknown)} in {ev.period}; groups: "
                                     f"{', '.join(map(str, dict.fromkeys(scores['group'])))}")
            scores = scores[scores["group"].isin(wanted)]
        for level in tables.levels_of(ev):
            if tables.has_group_pages(ev, level):
                for g in dict.fromkeys(scores.loc[scores["level"] == level, "group"]):
                    pages.append(layout.Page("group", ev.period, level=level, group=g, title=g))
        for row in scores.itertuples(index=False):
            pages.append(layout.Page("unit", ev.period, level=row.level, unit=row.unit,
                                     title=f"{row.name} ({row.unit})"))
        assessed = ev.scores.drop_duplicates("unit").set_index("unit")
        listed = set(scores["unit"])
        for parent in dict.fromkeys(scores["parent"].astype(str)):
            if not parent or parent in listed:
                continue
            if parent in assessed.index:  # e.g. a prefecture, assessed at its own level
                row = assessed.loc[parent]
                pages.append(layout.Page("unit", ev.period, level=str(row["level"]), unit=parent,
                                         title=f"{row['name']} ({parent})"))
            elif parent in units.index:  # not assessed: its page lists the units under it
                info = units.loc[parent]
                pages.append(layout.Page("unit", ev.period, level=str(info["level"]), unit=parent,
                                         title=f"{info['name']} ({parent})"))
    seen: dict[str, str] = {}
    for p in pages:
        key = p.path.casefold()
        if key in seen and seen[key] != p.id:
            raise AssessKitError(f"pages {seen[key]!r} and {p.id!r} would share the file {p.path} "
                                 "on a case-insensitive file system; rename one of the unit ids")
        seen[key] = p.id
    return pages


def input_hash(page: layout.Page, parameters: dict, ctx, notebook_sha: str) -> str:
    """SHA-256 of everything a page depends on: data, scheme, notebook, parameters, version."""
    text = json.dumps({"data": ctx.data_hash, "scheme": ctx.scheme_hash, "notebook": notebook_sha,
                       "parameters": parameters, "assesskit": package_version()}, sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------- the work of one page
_RUNNER = None


def _runner():
    global _RUNNER
    if _RUNNER is None:
        from .kernel import NotebookRunner

        _RUNNER = NotebookRunner()
    return _RUNNER


def close_runner() -> None:
    """Shut down this process's warm kernel, if any."""
    global _RUNNER
    if _RUNNER is not None:
        _RUNNER.close()
        _RUNNER = None


def _worker_init() -> None:
    from multiprocessing import util

    util.Finalize(None, close_runner, exitpriority=10)


def render_page(task: dict) -> dict:
    """Execute one page's notebook and export it; never raises.

    Parameters
    ----------
    task : dict
        ``id``, ``notebook`` (the template as JSON text), ``parameters``, ``title``.

    Returns
    -------
    dict
        ``id``, ``status`` (``ok`` or ``failed``), ``error`` and ``html`` (the page, or None).
    """
    import nbformat

    try:
        nb = nbformat.reads(task["notebook"], as_version=4)
        executed = _runner().run(nb, task["parameters"], cwd=task.get("cwd"))
        return {"id": task["id"], "status": "ok", "error": "",
                "html": notebook_to_html(executed, task["title"])}
    except Exception as exc:  # a failing page is reported, the others go on
        return {"id": task["id"], "status": "failed", "error": _error_text(exc), "html": None}


def _error_text(exc: Exception) -> str:
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        cell = getattr(exc, "exec_count", None)
        return f"{ename}: {evalue}" + (f" (in cell [{cell}])" if cell else "")
    return f"{type(exc).__name__}: {exc}"


try:  # a Dask worker plugin that shuts the worker's kernel down with the worker
    from distributed import WorkerPlugin

    class KernelPlugin(WorkerPlugin):
        """Closes the warm kernel of a Dask worker when the worker stops."""

        name = "assesskit-report-kernel"

        def teardown(self, worker) -> None:
            close_runner()
except ImportError:  # dask is an optional extra
    KernelPlugin = None


# ---------------------------------------------------------------------- executors
def _run_local(tasks: list[dict], jobs: int, done: Callable[[dict], None]) -> None:
    if jobs <= 1:
        try:
            for task in tasks:
                done(render_page(task))
        finally:
            close_runner()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init) as pool:
        futures = {pool.submit(render_page, t): t for t in tasks}
        for future in as_completed(futures):
            try:
                done(future.result())
            except Exception as exc:  # the worker process died
                done({"id": futures[future]["id"], "status": "failed",
                      "error": _error_text(exc), "html": None})


def _run_dask(tasks: list[dict], jobs: int, scheduler: str | None,
              done: Callable[[dict], None]) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise AssessKitError("--executor dask needs Dask: pip install 'assesskit[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        # dashboard on a free port: None means the default 8787, which another cluster on
        # the machine (a parallel test, another user) may hold
        cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    try:
        client.register_plugin(KernelPlugin())
        futures = {client.submit(render_page, t, key=f"assesskit-page-{t['input_hash'][:16]}",
                                 pure=False): t for t in tasks}
        for future in as_completed(futures):
            try:
                done(future.result())
            except Exception as exc:
                done({"id": futures[future]["id"], "status": "failed",
                      "error": _error_text(exc), "html": None})
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ---------------------------------------------------------------------- the report set
@dataclass
class ReportRun:
    """What :func:`make_report` did.

    Attributes
    ----------
    folder : Path
        The report set (``OUT/<scheme>``); open ``folder / "index.html"``.
    pages : list of dict
        Manifest entries of every page (status ``ok`` or ``failed``).
    rendered, unchanged : list of str
        Ids of the pages executed in this run, and of those skipped as unchanged.
    removed : list of str
        Paths of pages removed because their unit is no longer in the data.
    tables : list of Path
        Workbooks and CSV files written in this run.
    """

    folder: Path
    pages: list[dict]
    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    tables: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        """Manifest entries of the pages that failed."""
        return [p for p in self.pages if p["status"] == "failed"]

    @property
    def index(self) -> Path:
        return self.folder / "index.html"

    def to_frame(self):
        """One row per page: id, kind, period, title, path, status, error."""
        import pandas as pd

        cols = ["id", "kind", "period", "title", "path", "status", "error"]
        return pd.DataFrame([{c: p.get(c, "") for c in cols} for p in self.pages], columns=cols)

    def _repr_html_(self) -> str:
        from .safe import html_text

        head = f"<p>{html_text(self.summary()).replace(chr(10), '<br>')}</p>"
        return head + self.to_frame().to_html(index=False, escape=True)

    def summary(self) -> str:
        """One paragraph: pages rendered, unchanged, failed, removed, and where to look."""
        lines = [f"{len(self.pages)} pages: {len(self.rendered)} rendered, {len(self.unchanged)} "
                 f"unchanged, {len(self.failed)} failed; {len(self.removed)} removed"]
        lines += [f"  failed: {p['id']}: {p['error']}" for p in self.failed]
        lines += [f"  removed: {r}" for r in self.removed]
        lines.append(f"open {self.index}")
        return "\n".join(lines)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    os.replace(tmp, path)


def make_report(scheme="sichuan-39", data=None, periods: str | None = None, out="reports", *,
                jobs: int = 1, executor: str = "local", scheduler: str | None = None,
                groups: Iterable[str] | None = None, n_draws: int = DEFAULT_DRAWS,
                seed: int = DEFAULT_SEED, notebooks: str | Path | None = None,
                progress: bool = True, values_layout: str | None = None) -> ReportRun:
    """Generate (or bring up to date) the report set of a scheme.

    Parameters
    ----------
    scheme : str or Scheme
        Built-in scheme name or YAML path.
    data : str or Dataset, optional
        Bundled dataset name or dataset path; default the scheme's example dataset.
    periods : str, optional
        ``2025``, ``2023-2025``, ``2023,2025`` or ``all``; default the latest period. For a
        quarterly scheme the periods are years (the annual result).
    out : str or Path
        Parent folder; the set goes to ``out/<scheme>/``.
    jobs : int
        Workers (kernels) running pages at the same time.
    executor : {"local", "dask"}
    scheduler : str, optional
        Address of a Dask scheduler (default: a LocalCluster of ``jobs`` workers).
    groups : iterable of str, optional
        Only these groups' pages (and the overview); default all.
    n_draws, seed : int
        Size and seed of the uncertainty run shown on the overview and group pages.
    notebooks : str or Path, optional
        Folder holding ``annual-report.ipynb`` and ``unit-report.ipynb`` (default
        :func:`notebook_dir`).
    progress : bool
        Show a progress bar (pages done, failed, remaining) on standard error.
    values_layout : {"long", "wide"}, optional
        Layout of the values table of a user's dataset given by path (default: as its
        dataset.yaml says, else long); every page reads the data with it.

    Returns
    -------
    ReportRun
    """
    if executor not in ("local", "dask"):
        raise AssessKitError(f"unknown executor {executor!r}; use local or dask")
    if data is None:
        data = example_data(scheme)
    if values_layout is not None and isinstance(data, (str, Path)):
        path = Path(data)
        data = {"path": str(path.resolve()) if path.exists() else str(data),
                "values_layout": values_layout}
    ctx = report_context(scheme, data)
    chosen = parse_periods(periods, ctx.periods)
    folder = safe_join(out, slug(ctx.scheme.name))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.rglob(".*.tmp-*"):  # left by an interrupted run
        stale.unlink()
    nb_dir = Path(notebooks) if notebooks else notebook_dir()
    templates = {name: (nb_dir / name).read_text(encoding="utf-8")
                 for name in (layout.ANNUAL_NOTEBOOK, layout.UNIT_NOTEBOOK)}
    template_sha = {name: hashlib.sha256(text.encode("utf-8")).hexdigest()
                    for name, text in templates.items()}
    scheme_arg = str(scheme) if isinstance(scheme, (str, Path)) else ctx.scheme.name
    data_arg = str(data) if isinstance(data, (str, Path)) else \
        data if isinstance(data, dict) else ctx.data.name
    if isinstance(data_arg, str) and Path(data_arg).exists():
        data_arg = str(Path(data_arg).resolve())
    if isinstance(scheme_arg, str) and Path(scheme_arg).exists():
        scheme_arg = str(Path(scheme_arg).resolve())

    manifest_path = folder / "manifest.json"
    old = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    old_pages = {p["id"]: p for p in old.get("pages", [])}

    pages = plan_pages(ctx, chosen, groups)
    entries: dict[str, dict] = {}
    tasks = []
    run = ReportRun(folder, [])
    for page in pages:
        extra = {"n_draws": n_draws, "seed": seed} if page.kind != "unit" else {}
        if groups is not None:
            extra["groups"] = sorted(groups)
        params = page.parameters(scheme_arg, data_arg, **extra)
        # the hash uses the names, not the absolute paths, so a moved checkout stays unchanged
        hash_params = page.parameters(ctx.scheme.name, ctx.data.name, **extra)
        digest = input_hash(page, hash_params, ctx, template_sha[page.notebook])
        entry = {"id": page.id, "kind": page.kind, "period": page.period, "level": page.level,
                 "group": page.group, "unit": page.unit, "title": page.title, "path": page.path,
                 "notebook": page.notebook, "parameters": hash_params, "input_sha256": digest,
                 "status": "pending", "error": "", "output_sha256": ""}
        before = old_pages.get(page.id)
        target = folder / page.path
        if (before and before.get("input_sha256") == digest and before.get("status") == "ok"
                and target.is_file() and file_hash(target) == before.get("output_sha256")):
            entry.update(status="ok", output_sha256=before["output_sha256"])
            run.unchanged.append(page.id)
        else:
            tasks.append({"id": page.id, "notebook": templates[page.notebook],
                          "parameters": params, "title": page.title, "input_hash": digest,
                          "cwd": str(nb_dir)})
        entries[page.id] = entry

    # pages of the periods asked for that are no longer planned: their unit left the data
    for pid, p in old_pages.items():
        if pid in entries:
            continue
        if p.get("period") in chosen:
            path = safe_join(folder, p["path"])
            if path.exists():
                path.unlink()
            run.removed.append(p["path"])
        else:  # another period, made by an earlier run: kept as it is
            entries[pid] = p

    source = source_document(ctx.scheme)
    data_note = _data_note(ctx)

    def finish() -> None:
        run.pages = sorted(entries.values(), key=_page_order)
        manifest = {
            "assesskit_version": package_version(),
            "scheme": {"name": ctx.scheme.name, "title": ctx.scheme.spec.get("title", ""),
                       "source_document": source, "sha256": ctx.scheme_hash},
            "data": {"name": ctx.data.name, "kind": ctx.kind, "sha256": ctx.data_hash},
            "notebooks": template_sha,
            "seeds": {"uncertainty": {"seed": seed, "n_draws": n_draws}},
            "periods": sorted({p["period"] for p in run.pages}),
            "pages": run.pages,
            "tables": tables_written,
            "removed": run.removed,
        }
        _write_text(manifest_path, json.dumps(manifest, ensure_ascii=False, indent=1,
                                              sort_keys=True) + "\n")

    tables_written: list[dict] = [t for t in old.get("tables", []) if t["period"] not in chosen]
    for period in chosen:
        ev = ctx.evaluation(period)
        xlsx = safe_join(folder, f"results-{slug(period)}.xlsx")
        from .excel import write_csvs, write_workbook

        write_workbook(ev, xlsx, source=source, data_note=data_note)
        csvs = write_csvs(ev, safe_join(folder, slug(period), "csv"))
        for path in [xlsx, *csvs]:
            tables_written.append({"period": period, "path": path.relative_to(folder).as_posix(),
                                   "output_sha256": file_hash(path)})
            run.tables.append(path)
    tables_written.sort(key=lambda t: (t["period"], t["path"]))

    bar = _progress_bar(len(tasks), progress)
    failed_count = 0

    def done(result: dict) -> None:
        nonlocal failed_count
        entry = entries[result["id"]]
        if result["status"] == "ok":
            target = safe_join(folder, entry["path"])
            _write_text(target, result["html"])
            entry.update(status="ok", error="", output_sha256=file_hash(target))
        else:
            failed_count += 1
            entry.update(status="failed", error=result["error"], output_sha256="")
        run.rendered.append(result["id"])
        finish()
        if bar is not None:
            bar.update(1)
            bar.set_postfix(done=len(run.rendered) - failed_count, failed=failed_count,
                            remaining=len(tasks) - len(run.rendered))

    try:
        if tasks:
            if executor == "dask":
                _run_dask(tasks, jobs, scheduler, done)
            else:
                _run_local(tasks, jobs, done)
    finally:
        if bar is not None:
            bar.close()
        finish()
        files = [(f"{t['period']}: {t['path']}", t["path"]) for t in tables_written]
        _write_text(folder / "index.html", index_page(
            title=str(ctx.scheme.spec.get("title", ctx.scheme.name)), source=source,
            data_note=data_note, pages=run.pages, files=files, removed=run.removed))
    return run


def _page_order(p: dict) -> tuple:
    return (p["period"], {"overview": 0, "group": 1, "unit": 2}.get(p["kind"], 3),
            str(p.get("level") or ""), str(p.get("group") or ""), str(p.get("unit") or ""))


def _data_note(ctx) -> str:
    if ctx.kind == "synthetic":
        return (f"合成数据 SYNTHETIC DATA ({ctx.data.name}): the values are generated by seeded "
                "code for illustration; they are not official statistics.")
    if ctx.kind == "mixed":
        return f"部分合成 MIXED DATA ({ctx.data.name}): some values are synthetic."
    return f"Real data ({ctx.data.name}); see the dataset's provenance."


def _progress_bar(total: int, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="report pages", unit="page")
