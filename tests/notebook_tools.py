"""Run the notebooks in notebooks/ the way the tests do, and re-save their committed outputs.

Every notebook runs in a kernel named ``python3`` whose kernelspec is written to a temporary
directory and put first on ``JUPYTER_PATH``, so the kernel is always *this* interpreter
(``sys.executable``, the project's virtual environment) whatever kernels the machine has
registered elsewhere; a fresh CI machine needs nothing but the venv.

Each notebook declares, in its metadata, the parameters its test run uses::

    "metadata": {"assesskit": {"test_parameters": {"period": "2020"}, "nbval": "strict"}}

``test_parameters`` must differ from the defaults in the cell tagged ``parameters``;
``nbval`` is ``"strict"`` (default: every output compared with the committed one, after the
sanitisers in ``.nbval-sanitize.cfg``) or ``"lax"`` (only cells marked ``# NBVAL_CHECK_OUTPUT``).

Re-execute notebooks and save their outputs (after changing a notebook or the data)::

    .venv/bin/python tests/notebook_tools.py                 # every notebook
    .venv/bin/python tests/notebook_tools.py notebooks/explore-data.ipynb
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
SANITIZE_CFG = REPO / ".nbval-sanitize.cfg"
KERNEL_NAME = "python3"
CELL_TIMEOUT = 120  # seconds; a notebook cell that needs longer belongs in a benchmark


def notebooks() -> list[Path]:
    """Every notebook in notebooks/, sorted."""
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def write_kernelspec(root: Path) -> Path:
    """Write a ``python3`` kernelspec running ``sys.executable`` under ``root/kernels/``.

    Returns ``root``, to be put first on ``JUPYTER_PATH``. The kernel runs with a fixed
    ``PYTHONHASHSEED`` so that set and dict-of-set orders in outputs do not vary between runs.
    """
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "env": {"PYTHONHASHSEED": "0"},
        # As in ipykernel's own kernelspec: the kernel manager provisions CurveZMQ keys.
        "metadata": {"debugger": True, "supported_encryption": ["curve"]},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return root


def kernel_environment(root: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables for running notebooks with the kernelspec under ``root``.

    Also isolates the Jupyter runtime directory (connection files) and the IPython profile (a
    user's IPython startup files must not change notebook outputs).
    """
    env = dict(os.environ if base is None else base)
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(root), env.get("JUPYTER_PATH", "")) if p)
    env["JUPYTER_RUNTIME_DIR"] = str(root / "runtime")
    env["IPYTHONDIR"] = str(root / "ipython")
    return env


def assesskit_metadata(nb: nbformat.NotebookNode, path: Path | str) -> dict:
    """The ``assesskit`` block of a notebook's metadata, checked."""
    meta = nb.metadata.get("assesskit", {})
    mode = meta.get("nbval", "strict")
    if mode not in ("strict", "lax"):
        raise ValueError(f"{path}: metadata assesskit.nbval must be 'strict' or 'lax', not {mode!r}")
    return meta


def notebook_test_parameters(nb: nbformat.NotebookNode, path: Path | str) -> dict:
    """The papermill parameters a notebook's test run uses, from its metadata.

    Raises
    ------
    LookupError
        If the notebook declares none, or has no cell tagged ``parameters``; the message says
        what to add.
    """
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise LookupError(
            f"{path}: no cell is tagged 'parameters'; put the notebook's parameters (dataset, "
            "period, ...) in one code cell and give it the tag 'parameters' (papermill reads it)"
        )
    params = assesskit_metadata(nb, path).get("test_parameters")
    if not isinstance(params, dict) or not params:
        raise LookupError(
            f"{path}: the notebook declares no test parameters; add non-default values for its "
            "parameters to the notebook metadata, e.g. "
            '"metadata": {"assesskit": {"test_parameters": {"period": "2020"}}} '
            "(edit the metadata in JupyterLab: Property Inspector > Advanced Tools)"
        )
    return params


def matrix_parameters(nb: nbformat.NotebookNode, path: Path, scheme: str) -> dict:
    """The papermill parameters of a notebook's run in the matrix, for one built-in scheme.

    Only parameters the notebook declares (in the cell tagged ``parameters``) are set:
    ``scheme`` (the built-in name), ``dataset`` (the scheme's ``example_data``), ``period`` (the
    latest period a report can be made for), ``unit`` (the first unit of the scheme's first level
    in the data, with that ``level``) and then the small parameters of the notebook's metadata,
    ``assesskit.matrix.parameters`` (fewer draws, bootstrap resamples ...), which win.
    """
    import papermill

    from assesskit.data import datasets
    from assesskit.report.context import candidate_periods, example_data, load_scheme_any

    declared = papermill.inspect_notebook(str(path))
    loaded = load_scheme_any(scheme)
    data_name = example_data(loaded)
    params: dict = {}
    if "scheme" in declared:
        params["scheme"] = scheme
    if "dataset" in declared:
        params["dataset"] = data_name
    if "period" in declared or "unit" in declared:
        data = datasets.load(data_name)
        periods = candidate_periods(loaded, data) or data.periods
        if "period" in declared:
            params["period"] = str(periods[-1])
        if "unit" in declared:
            level = next(iter(loaded.levels))
            wanted = str((loaded.spec["levels"][level].get("units") or {}).get("level", level))
            units = data.units[data.units["level"] == wanted]["unit"]
            params["unit"] = str(units.iloc[0]) if len(units) else None
            if "level" in declared:  # the scheme's level, whose units the data may call otherwise
                params["level"] = level
    params.update(assesskit_metadata(nb, path).get("matrix", {}).get("parameters", {}))
    return {k: v for k, v in params.items() if k in declared}


def narrative_text(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """The prose of an executed notebook, as (cell index, text): its Markdown cells, printed
    Markdown (``text/markdown``), standard output, and explicit HTML objects (reports' sections);
    not tables (a DataFrame's text and HTML repr show column names, not sentences)."""
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            out.append((i, cell.source))
            continue
        if cell.cell_type != "code" or "injected-parameters" in cell.metadata.get("tags", []):
            continue
        for o in cell.get("outputs", []):
            if o.output_type == "stream" and o.name == "stdout":
                out.append((i, o.text))
            elif "data" in o:
                if "text/markdown" in o.data:
                    out.append((i, str(o.data["text/markdown"])))
                elif "text/html" in o.data and str(o.data.get("text/plain", "")).startswith(
                        "<IPython.core.display.HTML"):
                    out.append((i, str(o.data["text/html"])))
    return out


def first_output_text(nb: nbformat.NotebookNode) -> str:
    """The text of the first output of the notebook (after the injected parameters)."""
    for cell in nb.cells:
        if cell.cell_type != "code" or "injected-parameters" in cell.metadata.get("tags", []):
            continue
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                return o.text
            if "data" in o:
                return str(o.data.get("text/markdown") or o.data.get("text/plain", ""))
    return ""


def nbval_args(nb: nbformat.NotebookNode, path: Path) -> list[str]:
    """pytest arguments that run one notebook under nbval with the project's sanitisers."""
    mode = assesskit_metadata(nb, path).get("nbval", "strict")
    return [
        "--nbval" if mode == "strict" else "--nbval-lax",
        "--nbval-kernel-name", KERNEL_NAME,
        "--nbval-sanitize-with", str(SANITIZE_CFG),
        "--nbval-cell-timeout", str(CELL_TIMEOUT),
        str(path),
    ]


def execute_in_place(path: Path) -> None:
    """Execute a notebook with its default parameters and save it with its outputs.

    Timing metadata is not recorded, so re-running an unchanged notebook leaves the file as it
    was (execution counts restart at 1).
    """
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    with tempfile.TemporaryDirectory() as tmp:
        root = write_kernelspec(Path(tmp))
        old = dict(os.environ)
        os.environ.update(kernel_environment(root))
        try:
            NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=CELL_TIMEOUT,
                           record_timing=False,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:
            os.environ.clear()
            os.environ.update(old)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    targets = [Path(a).resolve() for a in sys.argv[1:]] or notebooks()
    for target in targets:
        print(f"executing {target.relative_to(REPO)} ...", flush=True)
        execute_in_place(target)
