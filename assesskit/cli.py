"""Command-line interface: ``assesskit <command> ...``.

Each subcommand is one function ``(args) -> int`` (the exit status) registered with the
:func:`command` decorator, which also declares its arguments::

    @command("rank", help="rank the units of a dataset with a scheme",
             arguments=[arg("scheme", help="scheme YAML file"),
                        arg("--period", required=True)])
    def rank(args: argparse.Namespace) -> int:
        ...
        return 0

Results go to standard output, errors to standard error. An
:class:`~assesskit.errors.AssessKitError` (bad data, bad scheme) is printed as a message and gives
exit status 1, never a traceback; exit status 2 means the command line itself was wrong.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import __version__
from .errors import AssessKitError, DataError, Notice, OutputError, Problem

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Argument:
    """Positional ``args`` and keyword ``kwargs`` of one :meth:`argparse.ArgumentParser.add_argument`."""

    args: tuple[str, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


def arg(*args: str, **kwargs: Any) -> Argument:
    """Declare one argument of a subcommand, with the signature of ``add_argument``."""
    return Argument(args, kwargs)


@dataclass(frozen=True)
class Command:
    """A registered subcommand: its name, one-line help, arguments and handler."""

    name: str
    help: str
    arguments: tuple[Argument, ...]
    handler: Handler
    description: str = ""


#: Registered subcommands, in the order they are listed by ``assesskit --help``.
COMMANDS: dict[str, Command] = {}


def command(name: str, *, help: str, arguments: Sequence[Argument] = ()) -> Callable[[Handler], Handler]:
    """Register the decorated function as the subcommand ``name``.

    Parameters
    ----------
    name : str
        Subcommand name typed on the command line.
    help : str
        One line shown by ``assesskit --help``.
    arguments : sequence of Argument
        The subcommand's arguments, made with :func:`arg`.

    Returns
    -------
    callable
        A decorator that registers the function and returns it unchanged. The function takes the
        parsed :class:`argparse.Namespace` and returns the exit status.
    """

    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise ValueError(f"subcommand {name!r} is registered twice")
        COMMANDS[name] = Command(name, help, tuple(arguments), handler,
                                 description=inspect.cleandoc(handler.__doc__ or help))
        return handler

    return register


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="assesskit",
        description="Design, run and critique performance-assessment schemes (考核评价方案).",
    )
    parser.add_argument("--version", action="version", version=f"assesskit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.description,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        for a in cmd.arguments:
            p.add_argument(*a.args, **a.kwargs)
        p.set_defaults(handler=cmd.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``assesskit`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments after the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 success, 1 the input is invalid (the problems were printed to standard
        error), 2 the command line is wrong.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.handler(args)
    except AssessKitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


# ---------------------------------------------------------------------- subcommands
@command("datasets", help="list the bundled example datasets")
def datasets_command(args: argparse.Namespace) -> int:
    """List the bundled datasets: name, title and the number of units of each level.

    The datasets are the directories with a ``dataset.yaml`` under the data root (set the
    environment variable ``ASSESSKIT_DATA`` to list another folder).
    """
    from .data import datasets

    table = _dataset_table(datasets)
    if table.empty:
        print("no bundled datasets found", file=sys.stderr)
        return 1
    for row in table.itertuples(index=False):
        print(f"{row.name}" + (f"  {row.title}" if row.title else ""))
        details = [f"units: {row.levels}"]
        details += [f"{row.indicators} indicators"] if row.indicators != "" else []
        details += [f"periods {row.periods}"] if row.periods else []
        details += [f"{row.data} data"] if row.data else []
        print("    " + "; ".join(details))
    return 0


def _dataset_table(datasets: Any) -> pd.DataFrame:
    """name, title, levels, indicators, periods, data of every bundled dataset.

    Uses ``datasets.describe()`` when the registry has it, else loads each dataset.
    """
    columns = ["name", "title", "levels", "indicators", "periods", "data"]
    describe = getattr(datasets, "describe", None)
    if callable(describe):
        table = describe()
    else:
        rows = []
        for name in datasets.list():
            ds = datasets.load(name)
            counts = ds.units["level"].value_counts(sort=False)
            rows.append({"name": name,
                         "levels": ", ".join(f"{lv} {n}" for lv, n in counts.items()),
                         "indicators": len(ds.indicators)})
        table = pd.DataFrame(rows, columns=["name", "levels", "indicators"])
    table = table.copy()
    for c in columns:
        if c not in table.columns:
            table[c] = ""
    return table[columns].fillna("")


@command(
    "validate",
    help="check a dataset directory or .xlsx workbook and report every problem",
    arguments=[
        arg("path", metavar="PATH",
            help="dataset directory (dataset.yaml, or units.csv/indicators.csv/values.csv) "
                 "or .xlsx workbook with sheets units, indicators, values"),
        arg("--require-groups", metavar="LEVEL", nargs="+", action="extend", default=[],
            help="levels whose units must all have a group (a scheme ranks them within groups)"),
        arg("--values-layout", choices=["long", "wide"], default=None,
            help="layout of the values table (default: as in dataset.yaml, else long)"),
    ],
)
def validate_command(args: argparse.Namespace) -> int:
    """Load a dataset and check it.

    Prints a short summary and every notice (a decision taken on your behalf: indicators
    assumed higher-is-better, cells such as "N/A" read as missing, levels outside the
    vocabulary) and exits 0 if the dataset is valid; otherwise prints every problem found in
    one run (file, row, column, value, what to do) to standard error and exits 1.

    Example:
        assesskit validate my-data/ --require-groups county
    """
    from .data.io import load_dataset

    try:
        ds = load_dataset(args.path, values_layout=args.values_layout,
                          require_groups=args.require_groups)
    except DataError as exc:
        raise DataError(exc.problems, title=f"{len(exc.problems)} problem(s) in {args.path}") \
            from None
    levels = set(ds.units["level"])
    problems = [
        Problem(f"--require-groups {level}: no unit has this level; levels present: "
                f"{', '.join(sorted(levels))}", file=ds.sources.get("units"), column="level")
        for level in args.require_groups if level not in levels
    ]
    if problems:
        raise DataError(problems, title=f"{len(problems)} problem(s) in {args.path}")
    print(_summary_text(ds, args.path))
    _print_notices(ds.notices)
    return 0


def _summary_text(ds: Any, path: str) -> str:
    """A few lines describing a valid dataset."""
    counts = ds.units["level"].value_counts(sort=False)
    periods = ds.periods
    n_missing = int(ds.values["value"].isna().sum())
    span = f"{periods[0]} to {periods[-1]}" if len(periods) > 1 else (periods[0] if periods else "-")
    roles = ds.indicators["role"].value_counts(sort=False)
    directions = ds.indicators["direction"].value_counts(sort=False)
    lines = [
        f"OK: dataset {ds.name!r} ({path}) is valid",
        "  units:      " + ", ".join(f"{n} {level}" for level, n in counts.items()),
        f"  indicators: {len(ds.indicators)} ("
        + ", ".join(f"{n} {role}" for role, n in roles.items()) + ")",
        "  direction:  " + ", ".join(f"{n} {d} is better" for d, n in directions.items()),
        f"  values:     {len(ds.values)} over {len(periods)} period(s) ({span}); "
        f"{n_missing} missing",
    ]
    return "\n".join(lines)


def _print_notices(notices: Sequence[Notice]) -> None:
    """Print each notice on its own line (standard output: they are part of the result)."""
    for notice in notices:
        print(f"notice: {notice}")


def _period_option(text: str | None, option: str = "--period") -> str | None:
    """The canonical period of a command-line option, or a DataError naming the option."""
    if text is None:
        return None
    from .data.model import parse_period

    canonical, reason = parse_period(text)
    if canonical is None:
        raise DataError(Problem(f"{option} {text}: {reason}"), title=f"bad {option}")
    return canonical


def _output_folder(path: str | Path, option: str = "--out") -> Path:
    """Create the output folder (and its parents) and check that it can be written.

    Raises
    ------
    OutputError
        Naming the option and the path: it is a file, a parent is a file, it cannot be created
        (permission, read-only disk) or it is not writable.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option} {path}: this is a file, not a folder; give a folder "
                          "(it is created if needed)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except NotADirectoryError:
        raise OutputError(f"{option} {path}: part of this path is a file, not a folder; "
                          "give a folder") from None
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot write there ({exc.strerror or exc}); give "
                          "a folder you can write to") from None
    return folder


def _write(write: Callable[[], list], option: str = "--out") -> list:
    """Run a writer, turning an operating-system error into an OutputError naming the file."""
    try:
        return write()
    except AssessKitError:
        raise
    except OSError as exc:
        where = exc.filename or ""
        raise OutputError(f"{option}: cannot write {where} ({exc.strerror or exc})") from None


def _load_data(spec: str, values_layout: str | None = None):
    """A bundled dataset name or a path to a user's dataset (directory, dataset.yaml or .xlsx)."""
    from .data import datasets

    return datasets.load(spec, values_layout=values_layout)


def _write_evaluation(ev: Any, out: Any) -> list:
    """The evaluation's tables as CSV (UTF-8 with BOM, formula-safe) and its summary."""
    from .report.excel import write_csvs

    def write() -> list:
        paths = write_csvs(ev, out)
        summary = Path(out) / "summary.txt"
        summary.write_text(ev.summary() + "\n", encoding="utf-8", newline="\n")
        return [*paths, summary]

    return _write(write)


_DATA_ARGUMENTS = [
    arg("--scheme", required=True, help="built-in scheme name or YAML file"),
    arg("--data", required=True,
        help="bundled dataset name, or the path of a dataset folder or .xlsx workbook"),
    arg("--period", required=True, help="period, e.g. 2024, 2024Q1, 2024-03, 2024年"),
    arg("--values-layout", choices=["long", "wide"], default=None,
        help="layout of the values table of your data: long (unit, period, indicator, value) "
             "or wide (unit, period, one column per indicator); default: as in dataset.yaml, "
             "else long"),
]


@command(
    "evaluate",
    help="apply a scheme to a dataset for one period and write scores, ranks and contributions",
    arguments=[*_DATA_ARGUMENTS,
               arg("--out", default=None, help="folder for the results (default: print only)")],
)
def evaluate_command(args: argparse.Namespace) -> int:
    """Apply a scheme to a dataset for one period.

    Prints who is praised, summoned ... in each group and every decision taken on your behalf
    (notices about the data and the scheme's policies); with --out, writes the evaluation's
    tables as CSV and summary.txt into the folder.

    Example:
        assesskit evaluate --scheme dingxi --data dingxi --period 2025 --out reports/dingxi-2025
        assesskit evaluate --scheme my-scheme.yaml --data my-data/ --period 2024 \\
            --values-layout wide
    """
    from .engine.evaluation import evaluate

    period = _period_option(args.period)
    out = _output_folder(args.out) if args.out else None
    data = _load_data(args.data, args.values_layout)
    ev = evaluate(args.scheme, data, period)
    print(ev.summary())  # lists the data's notices with the engine's
    if out is not None:
        for p in _write_evaluation(ev, out):
            print(f"wrote {p}")
    return 0


@command(
    "report",
    help="the main job: the report set (HTML pages, Excel, CSV) of a scheme for one or more years",
    arguments=[
        arg("--scheme", default="sichuan-39", help="built-in scheme name or YAML file"),
        arg("--data", default=None,
            help="bundled dataset name, or the path of a dataset folder or .xlsx workbook "
                 "(default: the scheme's example data)"),
        arg("--values-layout", choices=["long", "wide"], default=None,
            help="layout of the values table of your data (long or wide; default: as in "
                 "dataset.yaml, else long)"),
        arg("--periods", "--period", dest="periods", default=None, metavar="PERIODS",
            help="2025, a range 2023-2025, a list 2023,2025 or all (default: the latest year; "
                 "a quarterly scheme reports the annual result)"),
        arg("--out", default="reports", help="parent folder; the set goes to OUT/<scheme>/"),
        arg("--jobs", type=int, default=min(2, os.cpu_count() or 1),
            help="pages run at the same time, one kernel each (default: up to 2)"),
        arg("--executor", choices=["local", "dask"], default="local",
            help="local worker processes, or a Dask cluster (pip install 'assesskit[dask]')"),
        arg("--scheduler", default=None, metavar="ADDRESS",
            help="Dask scheduler address (default: a local cluster of --jobs workers)"),
        arg("--group", dest="groups", action="append", default=None, metavar="GROUP",
            help="only the pages of this group (repeatable); default every page"),
        arg("--seed", type=int, default=20240423, help="seed of the uncertainty run"),
        arg("--draws", type=int, default=64, help="draws of the uncertainty run"),
        arg("--no-progress", action="store_true", help="no progress bar"),
    ],
)
def report_command(args: argparse.Namespace) -> int:
    """Generate the report set of a scheme: for each period an overview page, a page per group,
    per assessed unit and per parent unit (papermill-executed notebooks exported to
    self-contained HTML), an Excel workbook and CSV files, with index.html and manifest.json.

    Pages whose inputs have not changed since the last run are skipped. A failing page is listed
    with its error and the others go on; the exit status is then 1.

    Example:
        assesskit report --scheme sichuan-39 --periods 2023-2025 --out reports
        assesskit report --scheme my-scheme.yaml --data my-data/ --values-layout wide
    """
    from .report.batch import make_report

    _output_folder(args.out)
    run = _write(lambda: make_report(
        args.scheme, args.data, args.periods, args.out, jobs=max(1, args.jobs),
        executor=args.executor, scheduler=args.scheduler, groups=args.groups,
        n_draws=args.draws, seed=args.seed, progress=not args.no_progress,
        values_layout=args.values_layout))
    print(run.summary())
    return 1 if run.failed else 0


@command(
    "grouping",
    help="re-run a level under alternative regional groupings: fates, quota fairness, endowment",
    arguments=[
        arg("--scheme", default="sichuan-39", help="built-in scheme name or YAML file "
            "(default sichuan-39)"),
        arg("--data", default="sichuan-39", help="bundled dataset name or path to a dataset "
            "(default sichuan-39)"),
        arg("--period", default=None, help="period (default: the latest in the data)"),
        arg("--level", default=None, help="level (default: the first with a top or bottom "
            "quota)"),
        arg("--alternative", "-a", dest="alternatives", action="append", default=None,
            metavar="SPEC", help="an alternative grouping, repeatable: official, "
            "official:proportional, pool, parent, column:NAME, kmeans:3, kmeans:2-6, ward:3, "
            "quantiles:VARIABLE:3, mapping:FILE.csv (default: the alternatives that fit the "
            "scheme)"),
        arg("--quota-rule", default="proportional", choices=["proportional", "equal"],
            help="how quotas are shared under other groups (default proportional: largest "
                 "remainder in proportion to group size)"),
        arg("--draws", type=int, default=0, help="random designs (weights, normalisation …) "
            "evaluated under every alternative, for probabilities (default 0)"),
        arg("--seed", type=int, default=20250601, help="seed of the clusterings and draws "
            "(recorded; default 20250601)"),
        arg("--endowment", default=None, help="units column or indicator used as the baseline "
            "endowment (default: the mean z-score of the baseline)"),
        arg("--out", default=None, help="folder for the CSV tables and PNG charts (default: "
            "print only)"),
    ],
)
def grouping_command(args: argparse.Namespace) -> int:
    """Re-run one level of a scheme under alternative groupings of its units.

    For every alternative (the official groups, one pool, the prefectures, clusters of the
    baseline, quantiles of an indicator, a mapping from a CSV file with columns unit and group)
    prints how many units change fate and how score and baseline endowment correlate, and with
    --out writes tidy CSV tables (units, alternatives, quotas, changes, groups, scan, baseline,
    summary.txt) and charts (fates.png, baseline.png, quotas.png, parents.png).

    Example:

      assesskit grouping --scheme sichuan-39 --data sichuan-39 --period 2025 \\
          -a official -a official:proportional -a pool -a parent -a kmeans:3 \\
          -a quantiles:gdp_per_capita:3 --draws 200 --out reports/grouping-2025
    """
    from pathlib import Path

    from .analysis.grouping import regroup

    data = _load_data(args.data)
    period = args.period or data.periods[-1]
    res = regroup(args.scheme, data, period, args.alternatives, seed=args.seed,
                  level=args.level, quota_rule=args.quota_rule, draws=args.draws,
                  endowment=args.endowment)
    text = res.summary()
    print(text)
    if args.out:
        figures = {kind: res.plot(kind) for kind in ("fates", "baseline", "quotas", "parents")}
        for p in _write_tables(args.out, res.tables(), figures):
            print(f"wrote {p}")
        summary = Path(args.out) / "summary.txt"
        summary.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {summary}")
    return 0


@command(
    "explain",
    help="the scoring basis of one unit and the reason for every point lost",
    arguments=[
        arg("unit", metavar="UNIT", help="the unit's id or name, e.g. 511322 or 营山县"),
        *_DATA_ARGUMENTS,
        arg("--out", default=None,
            help="folder for the table as CSV, explain_<unit>.csv (default: print only)"),
    ],
)
def explain_command(args: argparse.Namespace) -> int:
    """Print the scoring basis of one unit (Evaluation.explain): every node with its value,
    score, weight, points and the reason for every point lost.

    With --out, also writes the table (one row per node: raw value, score, weight, points,
    max points, points lost, reason) to OUT/explain_<unit>.csv.

    Example:
        assesskit explain 营山县 --scheme sichuan-39 --data sichuan-39 --period 2024 \\
            --out reports/explain
    """
    from .engine.evaluation import evaluate
    from .report.safe import formula_safe_frame, slug

    period = _period_option(args.period)
    out = _output_folder(args.out) if args.out else None
    data = _load_data(args.data, args.values_layout)
    ev = evaluate(args.scheme, data, period)
    explanation = ev.explain(args.unit)
    _print_notices(data.notices)
    print(explanation.text)
    if out is not None:
        path = out / f"explain_{slug(explanation.unit)}.csv"
        _write(lambda: formula_safe_frame(explanation.table).to_csv(
            path, index=False, float_format="%.6f", lineterminator="\n", encoding="utf-8-sig"))
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------- validity and audit
def _write_tables(out: Any, tables: dict[str, pd.DataFrame], figures: dict[str, Any]) -> list:
    from .report.plotting import save_figure
    from .report.safe import formula_safe_frame

    folder = _output_folder(out)

    def write() -> list:
        paths = []
        for name, frame in tables.items():
            path = folder / f"{name}.csv"
            # UTF-8 with BOM, so that Excel on a Chinese Windows machine shows the names; a
            # cell that a spreadsheet would run as a formula is written as text
            formula_safe_frame(frame).to_csv(path, index=False, float_format="%.6g",
                                             lineterminator="\n", encoding="utf-8-sig")
            paths.append(path)
        for name, fig in figures.items():
            paths.append(save_figure(fig, folder / f"{name}.png", dpi=120))
        return paths

    return _write(write)


@command(
    "validity",
    help="do a scheme's scores track later outcomes? panel regressions, ranks, lists, "
         "decomposition",
    arguments=[
        arg("--scheme", required=True, help="built-in scheme name or YAML file"),
        arg("--data", required=True, help="bundled dataset name or path to a dataset"),
        arg("--outcome", required=True, help="indicator code of the outcome"),
        arg("--horizon", type=int, default=None,
            help="periods ahead (default 1; 0 for a forward-looking outcome of role 'outcome')"),
        arg("--change", choices=["growth", "log_growth", "difference", "value"], default=None,
            help="how the later outcome is made from the indicator (default growth; value for "
                 "role 'outcome')"),
        arg("--baseline", default=None,
            help="indicator whose level at t is the baseline control (default the outcome)"),
        arg("--controls", nargs="+", default=[], metavar="NAME",
            help="more controls: indicator codes or numeric columns of the units table"),
        arg("--level", default=None, help="assessed level (default the scheme's first)"),
        arg("--periods", nargs="+", default=None, metavar="PERIOD",
            help="periods whose scores are used (default every period with a later outcome)"),
        arg("--n-boot", type=int, default=2000, help="bootstrap draws (default 2000)"),
        arg("--seed", type=int, default=0, help="seed of the bootstrap (default 0)"),
        arg("--out", default=None, help="folder for the CSV tables and the chart"),
    ],
)
def validity_command(args: argparse.Namespace) -> int:
    """Relate a scheme's scores at t to an outcome after t.

    Writes to --out: coefficients.csv (every specification: coefficient, SE clustered by unit,
    CI, p, n), rank_correlations.csv, list_effects.csv, decomposition.csv, panel.csv (the
    estimation sample), left_out.csv (scored unit-periods not used, with the reason) and
    coefficients.png; prints a summary with every notice.

    Example:
      assesskit validity --scheme sichuan-39 --data sichuan-39 \\
          --outcome outcome_gdp_pc_growth_3y --baseline gdp_per_capita --seed 1 --out out/validity
      assesskit validity --scheme undp-hdi --data hdr-2023 --outcome gnipc --horizon 5 \\
          --periods 2000 2005 2010 2015 2017 --out out/hdi
    """
    from .analysis.validity import validity
    from .report.plotting import use_cjk_font

    data = _load_data(args.data)
    _print_notices(data.notices)
    res = validity(args.scheme, data, args.outcome, horizon=args.horizon, change=args.change,
                   baseline=args.baseline, controls=args.controls, level=args.level,
                   periods=args.periods, n_boot=args.n_boot, seed=args.seed)
    print(res.summary())
    if args.out:
        use_cjk_font()
        paths = _write_tables(args.out, {
            "coefficients": res.coefficients, "rank_correlations": res.rank_correlations,
            "list_effects": res.list_effects, "decomposition": res.decomposition,
            "panel": res.panel, "left_out": res.left_out}, {"coefficients": res.plot()})
        for p in paths:
            print(f"wrote {p}")
    return 0


@command(
    "template",
    help="write a template dataset (CSV folder and .xlsx workbook) to fill in with your data",
    arguments=[
        arg("folder", metavar="FOLDER", help="folder to write, e.g. my-data/ (created)"),
        arg("--headers", choices=["en", "zh"], default="en",
            help="column headers in English (unit, period ...) or Chinese (单位, 期间 ...)"),
        arg("--force", action="store_true", help="overwrite template files already there"),
    ],
)
def template_command(args: argparse.Namespace) -> int:
    """Write a small example dataset to replace with your own data.

    FOLDER gets dataset.yaml, units.csv, indicators.csv, values.csv (UTF-8) and dataset.xlsx
    (the same tables as sheets, plus a sheet 说明 notes that explains every column). Both load
    and validate as they are; replace the example rows, then check with assesskit validate.
    The columns are described in docs/your-data.md.

    Example:
        assesskit template my-data/
        assesskit validate my-data/            # the CSV folder
        assesskit validate my-data/dataset.xlsx
    """
    from .data.template import write_template

    folder = _output_folder(args.folder, option="FOLDER")
    paths = _write(lambda: write_template(folder, headers=args.headers, overwrite=args.force),
                   option="FOLDER")
    for p in paths:
        print(f"wrote {p}")
    print(f"next: replace the example rows, then run: assesskit validate {folder}")
    return 0


@command(
    "audit",
    help="statistical audit of a scheme's indicators (JRC/OECD) and a suggested reduced set",
    arguments=[
        arg("--scheme", required=True, help="built-in scheme name or YAML file"),
        arg("--data", required=True, help="bundled dataset name or path to a dataset"),
        arg("--period", required=True, help="period, e.g. 2025"),
        arg("--level", default=None, help="assessed level (default the scheme's first)"),
        arg("--method", choices=["pearson", "spearman"], default="pearson",
            help="correlation coefficient (default pearson)"),
        arg("--out", default=None, help="folder for the CSV tables and the chart"),
    ],
)
def audit_command(args: argparse.Namespace) -> int:
    """Audit the indicators of one level of a scheme in one period.

    Writes to --out: indicators.csv (correlations with the dimension and the total, effective
    weight, flags, whether the reduced set drops it and why), correlations.csv, dimensions.csv
    (Cronbach's alpha, first principal component), redundant.csv, agreement.csv and
    outcome_changes.csv (what the reduced set keeps, who changes fate) and correlations.png;
    prints a summary.

    Example:
      assesskit audit --scheme sichuan-39 --data sichuan-39 --period 2025 --out out/audit
    """
    from .analysis.audit import audit
    from .report.plotting import use_cjk_font

    data = _load_data(args.data)
    _print_notices(data.notices)
    res = audit(args.scheme, data, args.period, level=args.level, method=args.method)
    print(res.summary())
    if args.out:
        use_cjk_font()
        paths = _write_tables(args.out, {
            "indicators": res.indicators, "correlations": res.correlations.reset_index(),
            "dimensions": res.dimensions, "redundant": res.redundant,
            "agreement": res.agreement, "outcome_changes": res.outcome_changes},
            {"correlations": res.plot()})
        for p in paths:
            print(f"wrote {p}")
    return 0


# ---------------------------------------------------------------------- compare and uncertainty
def _progress(items, total: int | None, desc: str, off: bool):
    """A progress bar on standard error (tqdm); hidden with --no-progress or when standard error
    is not a terminal."""
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, file=sys.stderr, disable=True if off else None)


def _scheme_data_period(args: argparse.Namespace):
    """The scheme, the dataset (default: the scheme's example data) and the period (default:
    the latest the scheme can evaluate on the data) of a command."""
    from .report.context import candidate_periods, example_data, load_scheme_any

    scheme = load_scheme_any(args.scheme)
    data = _load_data(args.data or example_data(scheme), args.values_layout)
    period = _period_option(args.period)
    if period is None:
        periods = candidate_periods(scheme, data)
        if not periods:
            raise DataError(Problem(f"dataset {data.name!r} has no period scheme "
                                    f"{scheme.name!r} can evaluate; give --period"))
        period = periods[-1]
    return scheme, data, period


_SCHEME_DATA_ARGUMENTS = [
    arg("--scheme", default="sichuan-39",
        help="built-in scheme name or YAML file (default sichuan-39)"),
    arg("--data", default=None,
        help="bundled dataset name, or the path of a dataset folder or .xlsx workbook "
             "(default: the scheme's example data)"),
    arg("--values-layout", choices=["long", "wide"], default=None,
        help="layout of the values table of your data (long or wide; default: as in "
             "dataset.yaml, else long)"),
    arg("--period", default=None,
        help="period, e.g. 2025 (default: the latest period the scheme can evaluate)"),
    arg("--level", default=None, help="assessed level (default: see the command's description)"),
]


@command(
    "compare",
    help="compare weighting methods at one node: weights, rank agreement, who enters or leaves "
         "a list",
    arguments=[
        *_SCHEME_DATA_ARGUMENTS,
        arg("--node", default=None,
            help="the node whose children are re-weighted (default: the node with the most "
                 "children that apply to every unit)"),
        arg("--methods", nargs="+", default=["equal", "entropy", "critic", "std", "pca"],
            choices=["equal", "entropy", "critic", "std", "pca"], metavar="METHOD",
            help="weighting methods: equal entropy critic std pca (default all five)"),
        arg("--missing", choices=["complete_units", "error"], default="complete_units",
            help="a value not reported when deriving weights: derive them from the units with "
                 "complete data (default, they are named) or stop with an error"),
        arg("--no-progress", action="store_true", help="no progress bar"),
        arg("--out", default=None,
            help="folder for the CSV tables and the chart (default: print only)"),
    ],
)
def compare_command(args: argparse.Namespace) -> int:
    """Re-weight one node of a scheme with data-driven weighting methods and compare.

    Every method derives the weights of the node's children from the data of the period; a
    method that cannot apply at the node is skipped with the reason, and children that apply
    to named units only keep their official weights. Each variant is evaluated on the same
    data and compared with the official scheme. Benefit of the doubt is run on the node's matrix
    without bounds and with share bounds that scale with the number of children (half to twice
    an equal share); negative values are shifted to a minimum of 0.

    Default level: the first with consequences (lists, grades) and a node to re-weight.

    Writes to --out: methods.csv (applied or skipped, and why), weights.csv (global weight of
    every leaf under each scheme), effective.csv (nominal against effective weights under the
    official scheme), correlations.csv (Spearman and Kendall, over the level and per group),
    rank_shifts.csv, outcome_changes.csv (who enters or leaves a list), bod.csv (each unit's
    benefit-of-the-doubt score, without and with bounds), summary.txt and weights.png; prints
    the summary and the findings.

    Example:
      assesskit compare --scheme sichuan-39 --period 2025 --node task --out out/compare
      assesskit compare --scheme dingxi --methods entropy critic --out out/compare-dingxi
    """
    from .analysis import weights
    from .analysis.compare import compare
    from .engine.evaluation import evaluate
    from .report import narrative
    from .report.plotting import plot_weights_heatmap, use_cjk_font

    out = _output_folder(args.out) if args.out else None
    scheme, data, period = _scheme_data_period(args)
    variants = weights.variants(scheme, args.methods, data, period, args.level, args.node,
                                missing=args.missing)
    lines = [narrative.plain(narrative.compare_header(variants, scheme, data, period))]
    tables = {"methods": variants.to_frame()}
    figures = {}
    if variants.applied:
        evaluations = {name: evaluate(s, data, period) for name, s in
                       _progress(variants.schemes.items(), len(variants.schemes), "evaluate",
                                 args.no_progress)}
        level = variants.level
        cmp = compare(evaluations, level=level)
        eff = weights.effective(evaluations["official"], level=level)
        matrix = weights.node_matrix(scheme, data, period, level=level, node=variants.node,
                                     unit_specific="keep")
        runs = narrative.bod_runs(matrix)
        lines += [cmp.summary(), "Findings:", narrative.plain(narrative.compare_findings(
            cmp, variants, eff, runs, evaluations["official"]))]
        bod = []
        for bounds, run in runs.items():
            if run.result is not None:
                scores = run.result.scores
                bod.append(pd.DataFrame({
                    "bounds": bounds, "unit": [u[0] if isinstance(u, tuple) else u
                                               for u in scores.index],
                    "sub_period": [u[1] if isinstance(u, tuple) else "" for u in scores.index],
                    "score": scores.to_numpy()}))
        names = data.units.set_index("unit")["name"]
        bod_table = (pd.concat(bod, ignore_index=True) if bod
                     else pd.DataFrame(columns=["bounds", "unit", "sub_period", "score"]))
        bod_table.insert(2, "name", bod_table["unit"].map(names).fillna(""))
        tables |= {"weights": cmp.weights[cmp.weights["level"] == level], "effective": eff,
                   "correlations": cmp.correlations, "rank_shifts": cmp.rank_shifts,
                   "outcome_changes": cmp.outcome_changes, "bod": bod_table}
        if out is not None:
            use_cjk_font()
            table = cmp.weight_matrix(level)
            table["effective (official)"] = eff.set_index("node")["eta2_share"]
            figures["weights"] = plot_weights_heatmap(
                table, title=f"{scheme.name} {period}: 各方法的指标权重 weights by method "
                             "(% of the total)")
    else:
        lines.append("No weighting method could be applied at this node: nothing to compare.")
    text = "\n\n".join(lines)
    print(text)
    if out is not None:
        paths = _write_tables(out, tables, figures)
        summary = out / "summary.txt"
        _write(lambda: summary.write_text(text + "\n", encoding="utf-8", newline="\n"))
        for p in [*paths, summary]:
            print(f"wrote {p}")
    return 0


def _factor_option(text: str) -> dict:
    """``--factor KIND[:OPTIONS]`` as the dict :func:`factor_from_spec` reads."""
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    options = [o.strip() for o in rest.split(",") if o.strip()]
    try:
        if kind == "weights":
            return {"kind": kind} | ({"spread": float(options[0])} if options else {})
        if kind == "quota":
            return {"kind": kind} | ({"options": [float(o) for o in options]} if options else {})
    except ValueError:
        raise DataError(Problem(f"--factor {text}: the options of {kind} are numbers, e.g. "
                                f"{'weights:0.25' if kind == 'weights' else 'quota:0.5,1,1.5'}"),
                        title="bad --factor") from None
    return {"kind": kind} | ({"options": options} if options else {})


def _factors_file(path: str) -> dict:
    """The mapping of a --factors YAML file (read safely, with the scheme reader's limits)."""
    from .scheme.source import parse_yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(Problem(f"--factors {path}: cannot read it ({exc.strerror or exc})"),
                        title="bad --factors") from None
    spec, _ = parse_yaml(text, source=str(path))
    if not isinstance(spec, dict) or not isinstance(spec.get("factors"), list):
        raise DataError(Problem(f"--factors {path}: expected a mapping with a list under "
                                "'factors:' (see assesskit uncertainty --help)"),
                        title="bad --factors")
    unknown = sorted(set(spec) - {"factors", "n", "seed", "level"})
    if unknown:
        raise DataError(Problem(f"--factors {path}: unknown key(s) {unknown}; the file takes "
                                "factors, n, seed and level"), title="bad --factors")
    return spec


@command(
    "uncertainty",
    help="how fragile are the lists? Monte Carlo over a scheme's design choices, with Sobol' "
         "indices",
    arguments=[
        *_SCHEME_DATA_ARGUMENTS,
        arg("--factor", dest="factors", action="append", default=None, metavar="KIND[:OPTIONS]",
            help="a design choice to draw, repeatable: weights[:SPREAD], normalisation[:A,B], "
                 "aggregation[:A,B], missing[:A,B], grouping[:official,pool], "
                 "quota[:0.5,1,1.5] (default: the choices that make sense for the scheme and "
                 "the data)"),
        arg("--factors", dest="factors_file", default=None, metavar="FILE.yaml",
            help="the factors (and n, seed, level) in a small YAML file; see the example"),
        arg("--n", type=int, default=None,
            help="base rows of the Sobol' design: the scheme runs n x (factors + 2) times "
                 "(default 1024)"),
        arg("--seed", type=int, default=None, help="seed of every draw (default 20250601)"),
        arg("--n-boot", type=int, default=500,
            help="bootstrap resamples for the Sobol' intervals (default 500)"),
        arg("--no-progress", action="store_true", help="no progress bar"),
        arg("--out", default=None,
            help="folder for the CSV tables and the charts (default: print only)"),
    ],
)
def uncertainty_command(args: argparse.Namespace) -> int:
    """Draw a scheme's design choices at random, re-run the scheme for every draw, and report
    each unit's rank interval and chance of being on each list, and which choice the lists
    depend on most (Sobol' indices with bootstrap intervals; a warning when the sample is too
    small to read them).

    Default level: the first with a top or bottom quota. Default factors: weights ±25%, and the
    normalisation, aggregation, grouping and missing-value policy where they apply (the reasons
    are printed).

    Writes to --out: factors.csv (the choices drawn), ranks.csv (each unit: official rank and
    outcome, share of runs on each list, median rank and 5–95% interval), sobol.csv (S1 and ST
    with intervals for the summaries and every unit, and whether each can be read), draws.csv
    (every run's choices, with the seed in summary.txt), summary.txt, ranks.png and sobol.png.

    Example:
      assesskit uncertainty --scheme sichuan-39 --period 2025 --factor weights:0.25 \\
          --factor normalisation:minmax,zscore --factor quota:0.5,1,1.5 --n 512 --out out/unc
      assesskit uncertainty --scheme dingxi --factors factors.yaml --out out/unc-dingxi

    with factors.yaml:
      n: 512
      seed: 7
      factors:
        - {kind: weights, spread: 0.25}
        - {kind: aggregation, options: [arithmetic, geometric]}
        - {kind: quota, options: [0.5, 1, 1.5]}
    """
    from .analysis.uncertainty import default_factors, factor_from_spec, uncertainty
    from .report import narrative
    from .report.plotting import plot_rank_uncertainty, plot_sobol, use_cjk_font

    out = _output_folder(args.out) if args.out else None
    spec = _factors_file(args.factors_file) if args.factors_file else {}
    if spec and args.factors:
        raise DataError(Problem("give the factors with --factor or in --factors FILE, not both"),
                        title="bad options")
    scheme, data, period = _scheme_data_period(args)
    level = args.level or spec.get("level")
    n = args.n if args.n is not None else int(spec.get("n", 1024))
    seed = args.seed if args.seed is not None else int(spec.get("seed", 20250601))
    reasons = None
    if args.factors:
        factors = [factor_from_spec(_factor_option(f)) for f in args.factors]
    elif spec:
        factors = [factor_from_spec(f) for f in spec["factors"]]
    else:
        factors, reasons = default_factors(scheme, data, period, level, with_reasons=True)
    result = uncertainty(scheme, data, period, factors=factors, n=n, seed=seed, level=level,
                         progress=not args.no_progress)
    indices = result.sobol(n_boot=args.n_boot, seed=seed)
    text = "\n\n".join([
        narrative.plain(narrative.uncertainty_intro(result, reasons)),
        narrative.plain(narrative.uncertainty_outcomes(result)),
        narrative.plain(narrative.sobol_findings(indices, result))])
    print(text)
    if out is not None:
        use_cjk_font()
        factors_table = narrative.factor_table(result)
        ranks = narrative.outcome_table(result)
        paths = _write_tables(out, {
            "factors": factors_table, "ranks": ranks, "sobol": indices,
            "draws": result.draws.reset_index()},
            {"ranks": plot_rank_uncertainty(result), "sobol": plot_sobol(indices)})
        summary = out / "summary.txt"
        _write(lambda: summary.write_text(result.summary() + "\n\n" + text + "\n",
                                          encoding="utf-8", newline="\n"))
        for p in [*paths, summary]:
            print(f"wrote {p}")
    return 0


# ---------------------------------------------------------------------- what it would take
def _pair(text: str, option: str) -> tuple[str, str]:
    if "=" not in text:
        raise DataError(f"{option} {text!r}: write INDICATOR=VALUE (e.g. {option} "
                        "urbanization_rate=0:80)")
    key, _, value = text.partition("=")
    return key.strip(), value.strip()


def _number(text: str, option: str) -> float | None:
    if text in ("", "none", "None"):
        return None
    try:
        return float(text)
    except ValueError:
        raise DataError(f"{option}: {text!r} is not a number") from None


WHAT_IT_TAKES_COLUMNS = ["unit", "name", "level", "period", "target", "target_label", "want",
                         "direction", "plan", "node", "indicator", "indicator_name",
                         "unit_of_measure", "value", "change", "new_value", "effort", "status",
                         "tie", "shares_with", "displaces"]


@command(
    "what-it-takes",
    help="what a unit would have needed to change to gain or lose each consequence (tidy CSV)",
    arguments=[
        arg("unit", metavar="UNIT", help="unit id or Chinese name, e.g. 营山县 or 511322"),
        arg("--scheme", default="sichuan-39", help="built-in scheme name or YAML file"),
        arg("--data", default="sichuan-39", help="bundled dataset name or path to a dataset"),
        arg("--period", default=None, help="period (default: the latest in the data)"),
        arg("--level", default=None, help="assessed level (default: the first with consequences)"),
        arg("--consequence", action="append", default=None, metavar="KEY",
            help="consequence key (repeat; default all, and the grades)"),
        arg("--indicator", action="append", default=None, metavar="NODE",
            help="indicator to change (node id or code; repeat; default all)"),
        arg("--metric", choices=["l1", "l2"], default="l1",
            help="effort of a combined change: sum or Euclidean norm of changes in spreads"),
        arg("--bound", action="append", default=[], metavar="NODE=LOW:HIGH",
            help="bounds of an indicator's value (empty side: none), e.g. urbanization_rate=0:80"),
        arg("--fixed", action="append", default=[], metavar="NODE",
            help="an indicator that cannot move (repeat)"),
        arg("--max-change", action="append", default=[], metavar="NODE=AMOUNT",
            help="largest change of an indicator, in its own units"),
        arg("--rank", action="append", type=int, default=[], metavar="K",
            help="also: rank K or better within the group (repeat)"),
        arg("--out", default=None, help="write the CSV to this file instead of standard output"),
    ],
)
def what_it_takes_command(args: argparse.Namespace) -> int:
    """What a unit would have needed to change to gain or lose each consequence.

    For every consequence the unit could gain or lose (enter the praise list, leave the summons
    list, reach a grade), the smallest change of each single indicator that changes the outcome,
    every other unit held fixed, and the cheapest combined change (effort: changes in spreads of
    each indicator across units). Everything is decided by the scheme's own rules on the engine.
    Output: a tidy CSV, one row per outcome, plan (single indicator or combined) and indicator.

    Example:
      assesskit what-it-takes 营山县 --scheme sichuan-39 --data sichuan-39 --period 2025
      assesskit what-it-takes 511322 --consequence praised --bound urbanization_rate=0:80 \\
          --fixed water_source_quality --out yingshan.csv
    """
    from .analysis.counterfactual import counterfactuals
    from .report.safe import formula_safe_frame

    period = _period_option(args.period)
    data = _load_data(args.data)
    period = period or data.periods[-1]
    bounds = {}
    for text in args.bound:
        key, value = _pair(text, "--bound")
        if ":" not in value:
            raise DataError(f"--bound {text!r}: write NODE=LOW:HIGH (an empty side has no bound)")
        low, _, high = value.partition(":")
        bounds[key] = (_number(low, "--bound"), _number(high, "--bound"))
    max_change = {}
    for text in args.max_change:
        key, value = _pair(text, "--max-change")
        max_change[key] = _number(value, "--max-change")
    cf = counterfactuals(args.scheme, data, period, level=args.level, units=[args.unit],
                         indicators=args.indicator, consequences=args.consequence,
                         ranks=args.rank, bounds=bounds or "auto", fixed=args.fixed,
                         max_change=max_change or None, metric=args.metric)
    table = what_it_takes_table(cf)
    for notice in cf.notices:
        print(f"note: {notice}", file=sys.stderr)
    text = formula_safe_frame(table).to_csv(index=False, float_format="%.10g",
                                            lineterminator="\n")
    if args.out:  # UTF-8 with BOM, as the other CSV files: Excel shows the Chinese names
        _write(lambda: Path(args.out).write_text(text, encoding="utf-8-sig"))
        print(f"wrote {args.out} ({len(table)} rows)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def what_it_takes_table(cf: Any) -> pd.DataFrame:
    """The tidy table of :func:`what_it_takes_command`: single-indicator rows, then one row per
    indicator of each cheapest combined change (plan ``combined-l1`` / ``combined-l2``)."""
    single = cf.single.assign(level=cf.level, period=cf.period, plan="single")
    rows = [single]
    comb = cf.combined.assign(level=cf.level, period=cf.period, plan=f"combined-{cf.metric}")
    if len(comb):
        keys = ["unit", "target", "direction"]
        parts = cf.changes.drop(columns=["name"]).rename(columns={"effort": "indicator_effort"})
        joined = comb.drop(columns=["changes"]).merge(parts, on=keys, how="left")
        rows.append(joined)
    table = pd.concat(rows, ignore_index=True)
    return table.reindex(columns=WHAT_IT_TAKES_COLUMNS)


if __name__ == "__main__":  # pragma: no cover - `python -m assesskit.cli`; after every command
    sys.exit(main())
