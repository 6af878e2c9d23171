"""Write the evaluation report of one period: tables, a summary page and one page per unit.

Layout of ``write_report(ev, folder)``::

    folder/
      README.md             the summary page: scheme, source, assumptions, data, results by group
      summary.txt           who is praised / summoned (or other consequences) in each group
      scores.csv            one row per assessed unit
      contributions.csv     every unit × node: points, points lost and the reason
      traffic_lights.csv    progress against the time schedule (if the scheme has one)
      log.csv               every rule and parameter applied
      units/<level>/<unit>.md   the scoring basis of one unit (Evaluation.explain)

Everything is deterministic: the same data and scheme give byte-identical files (no dates, no
machine-specific paths).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..engine.evaluation import Evaluation

_UNSAFE = re.compile(r"[^\w\-.]+", re.UNICODE)


def _table(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (no external dependency)."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:.2f}" if isinstance(v, float) else ("" if v is None else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def safe_file_name(text: str) -> str:
    """``text`` usable as (part of) a file name: anything but letters, digits, ``-`` ``_`` ``.``
    becomes ``_`` (a unit id taken from data never makes a path)."""
    return _UNSAFE.sub("_", str(text)) or "_"


#: First characters that make a spreadsheet program read a CSV cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    Text cells (never numbers) starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
    get a leading apostrophe, which Excel and LibreOffice show as text (OWASP "CSV injection").
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str)
                                    and v.startswith(_FORMULA_START) else v)
    return out


# The folders of an absolute path (/home/x/, C:\Users\x\): left out of every output.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[\\/](?:[^\s,;:()'\"\\/]+[\\/])+")


def _notice_lines(notices) -> list[str]:
    """Notices as a fenced block: data text cannot become Markdown; folders of absolute paths
    are left out (no output carries a path of the machine that ran it)."""
    if not notices:
        return []
    text = "\n".join(f"- {_ABSOLUTE_PATH.sub('', str(n))}" for n in notices)
    return ["", "## Notices", "",
            "Decisions taken on your behalf, reading the data (see docs/your-data.md) and "
            "applying the scheme's documented policies:", "",
            "```text", text.replace("```", "'" * 3), "```"]


def summary_page(ev: Evaluation, notices=None) -> str:
    """The report's front page as Markdown (``notices``: default ``ev.notices``, which holds the
    dataset's and the engine's)."""
    scheme = ev.scheme
    spec = scheme.spec
    inp = next(e for e in ev.log if e.get("step") == "input")
    out = [f"# {spec.get('title', scheme.name)} — {ev.period}", ""]
    out += [f"- scheme: `{scheme.name}`" + (f" (source: {spec['source']})" if spec.get("source") else ""),
            f"- data: `{ev.dataset}` (fingerprint {inp['dataset_fingerprint']})",
            f"- periods combined: {', '.join(inp['sub_periods'])}"]
    out += _notice_lines(ev.notices if notices is None else notices)
    if scheme.log:
        out.append(f"- changes to the published scheme: {len(scheme.log)} (see log.csv)")
        for change in scheme.log:
            out.append(f"  - {change}")
    assumptions = spec.get("assumptions") or []
    if assumptions:
        out += ["", "## Assumptions where the source is silent", ""]
        out += [f"- **{a.get('id', '')}**: {a.get('text', '')}" for a in assumptions]
    for level, frame in ev.scores.groupby("level", sort=False):
        label = scheme.levels[level].label
        out += ["", f"## {label} ({level}, {len(frame)} units)", ""]
        cols = ["group_rank", "name", "unit", "subgroup", "score", "grade", "outcome_label"]
        cols = [c for c in cols if c in ("group_rank", "name", "unit", "score")
                or (frame[c].astype(str) != "").any()]  # leave out columns the scheme does not use
        for group, g in frame.groupby("group", sort=True):
            if group:
                out += [f"### {group}", ""]
            shown = g.sort_values(["group_rank", "unit"])[cols].rename(
                columns={"group_rank": "rank", "outcome_label": "outcome"})
            out += [_table(shown), ""]
    if len(ev.excluded):
        out += ["## Units left out", "", _table(ev.excluded), ""]
    return "\n".join(out).rstrip() + "\n"


def write_report(ev: Evaluation, directory: str | Path, *, unit_pages: bool = True,
                 notices=None) -> list[Path]:
    """Write the full report of an evaluation into ``directory``.

    Parameters
    ----------
    ev : Evaluation
    directory : str or Path
        Created if needed; files of the same names are overwritten.
    unit_pages : bool
        Also write one explanation page per assessed unit (default True).
    notices : sequence of Notice, optional
        Listed on the front page; default ``ev.notices`` (the dataset's and the engine's).

    Returns
    -------
    list of Path
        Every file written.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = list(ev.to_csv(folder))
    for name, text in (("summary.txt", ev.summary() + "\n"), ("README.md", summary_page(ev, notices))):
        p = folder / name
        p.write_text(text, encoding="utf-8", newline="\n")
        paths.append(p)
    if unit_pages:
        for row in ev.scores.itertuples(index=False):
            page = folder / "units" / safe_file_name(row.level) / f"{safe_file_name(row.unit)}.md"
            page.parent.mkdir(parents=True, exist_ok=True)
            explanation = ev.explain(row.unit)
            page.write_text(f"# {row.name} ({row.unit})\n\n```text\n{explanation.text}\n```\n",
                            encoding="utf-8", newline="\n")
            paths.append(page)
    return paths
