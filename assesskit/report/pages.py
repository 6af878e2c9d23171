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


def summary_page(ev: Evaluation) -> str:
    """The report's front page as Markdown."""
    scheme = ev.scheme
    spec = scheme.spec
    inp = next(e for e in ev.log if e.get("step") == "input")
    out = [f"# {spec.get('title', scheme.name)} — {ev.period}", ""]
    out += [f"- scheme: `{scheme.name}`" + (f" (source: {spec['source']})" if spec.get("source") else ""),
            f"- data: `{ev.dataset}` (fingerprint {inp['dataset_fingerprint']})",
            f"- periods combined: {', '.join(inp['sub_periods'])}"]
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
        cols = ["group_rank", "name", "unit", "subgroup", "subgroup_rank", "score", "grade",
                "outcome_label"]
        cols = [c for c in cols if c in ("group_rank", "name", "unit", "score")
                or (frame[c].notna() & (frame[c].astype(str) != "")).any()]  # only those used
        for group, g in frame.groupby("group", sort=True):
            if group:
                out += [f"### {group}", ""]
            # the subgroup rank beside the group rank: quotas split by subgroup (Sichuan's
            # plateau) choose by it, so a unit ranked lower in its group can be praised
            shown = g.sort_values(["group_rank", "unit"])[cols].astype(object).fillna("").rename(
                columns={"group_rank": "rank", "subgroup_rank": "subgroup rank",
                         "outcome_label": "outcome"})
            out += [_table(shown), ""]
    if len(ev.excluded):
        out += ["## Units left out", "", _table(ev.excluded), ""]
    return "\n".join(out).rstrip() + "\n"


def write_report(ev: Evaluation, directory: str | Path, *, unit_pages: bool = True) -> list[Path]:
    """Write the full report of an evaluation into ``directory``.

    Parameters
    ----------
    ev : Evaluation
    directory : str or Path
        Created if needed; files of the same names are overwritten.
    unit_pages : bool
        Also write one explanation page per assessed unit (default True).

    Returns
    -------
    list of Path
        Every file written.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = list(ev.to_csv(folder))
    for name, text in (("summary.txt", ev.summary() + "\n"), ("README.md", summary_page(ev))):
        p = folder / name
        p.write_text(text, encoding="utf-8", newline="\n")
        paths.append(p)
    if unit_pages:
        for row in ev.scores.itertuples(index=False):
            page = folder / "units" / row.level / f"{_UNSAFE.sub('_', str(row.unit))}.md"
            page.parent.mkdir(parents=True, exist_ok=True)
            explanation = ev.explain(row.unit)
            page.write_text(f"# {row.name} ({row.unit})\n\n```text\n{explanation.text}\n```\n",
                            encoding="utf-8", newline="\n")
            paths.append(page)
    return paths
