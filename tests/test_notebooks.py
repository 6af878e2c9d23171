"""Every notebook in notebooks/ runs with non-default parameters and reproduces its outputs.

For each notebook (found by globbing, so a new notebook is tested without editing this file):

(a) papermill runs it in a temporary directory with the parameters declared in its metadata
    (``assesskit.test_parameters``); it must finish without error, write nothing to stderr (a
    warning in a notebook is a failure, as in the rest of the test suite), and the parameters
    must change at least one output (otherwise they test nothing new);
(b) nbval re-runs it with its defaults and compares every output with the committed one, after
    the sanitisers in ``.nbval-sanitize.cfg`` (strict mode unless the notebook's metadata says
    ``assesskit.nbval: "lax"``). nbval runs in a subprocess (``python -m pytest --nbval ...``)
    so its kernel and collection do not mix with this session. nbval does not compare PNG bytes
    (only without ``--nbdime``); it does compare each figure's text repr and every other output.

Both use a ``python3`` kernelspec pointing at ``sys.executable`` (see ``notebook_tools``).
Regenerate committed outputs with ``.venv/bin/python tests/notebook_tools.py``.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from notebook_tools import (
    KERNEL_NAME,
    NOTEBOOK_DIR,
    REPO,
    SANITIZE_CFG,
    kernel_environment,
    nbval_args,
    notebook_test_parameters,
    notebooks,
    write_kernelspec,
)

NOTEBOOKS = notebooks()


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Environment with the ``python3`` kernelspec of this interpreter first on JUPYTER_PATH."""
    return kernel_environment(write_kernelspec(tmp_path_factory.mktemp("jupyter")))


def _read(path):
    return nbformat.read(path, as_version=4)


def _text_outputs(nb) -> list[list[str]]:
    """Per code cell, the text of its outputs (streams, text/plain, text/html, errors)."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "injected-parameters" in cell.metadata.get("tags", []):
            continue
        texts = []
        for o in cell.get("outputs", []):
            if o.output_type == "stream":
                texts.append(o.text)
            elif "data" in o:
                texts.extend(str(o.data.get(k, "")) for k in ("text/plain", "text/html"))
        out.append(texts)
    return out


def test_there_are_notebooks_and_a_sanitiser_file():
    assert (NOTEBOOK_DIR / "explore-data.ipynb") in NOTEBOOKS
    assert SANITIZE_CFG.is_file()


def test_kernel_is_this_interpreter(kernel_env, monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager

    monkeypatch.setenv("JUPYTER_PATH", kernel_env["JUPYTER_PATH"])
    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.argv[0] == sys.executable


def test_notebook_without_test_parameters_is_refused():
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("period = 2025", metadata={"tags": ["parameters"]}))
    with pytest.raises(LookupError, match=r"x\.ipynb: the notebook declares no test parameters; "
                                          r"add non-default values"):
        notebook_test_parameters(nb, "x.ipynb")
    nb.cells[0].metadata["tags"] = []
    nb.metadata["assesskit"] = {"test_parameters": {"period": "2020"}}
    with pytest.raises(LookupError, match=r"x\.ipynb: no cell is tagged 'parameters'"):
        notebook_test_parameters(nb, "x.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_with_test_parameters(path, tmp_path, kernel_env, monkeypatch):
    import papermill

    committed = _read(path)
    params = notebook_test_parameters(committed, path.relative_to(REPO))
    declared = papermill.inspect_notebook(str(path))
    unknown = sorted(set(params) - set(declared))
    assert not unknown, (
        f"{path.name}: test parameters {unknown} are not assigned in the cell tagged "
        f"'parameters' (papermill finds: {sorted(declared)}); fix the metadata or the cell"
    )
    for key in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(key, kernel_env[key])
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path), str(out), parameters=params, kernel_name=KERNEL_NAME, cwd=str(tmp_path),
        progress_bar=False, execution_timeout=120, request_save_on_cell_execute=False,
    )
    executed = _read(out)
    stderr = [
        o.text for c in executed.cells for o in c.get("outputs", [])
        if o.output_type == "stream" and o.name == "stderr"
    ]
    assert not stderr, f"{path.name} with {params} wrote to stderr:\n" + "\n".join(stderr)
    assert _text_outputs(executed) != _text_outputs(committed), (
        f"{path.name}: the test parameters {params} change no output; choose values that "
        "exercise something the committed run does not"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_reproduces_committed_outputs(path, kernel_env):
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--color=no",
           *nbval_args(_read(path), path)]
    run = subprocess.run(cmd, cwd=REPO, env=kernel_env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, (
        f"nbval failed for {path.relative_to(REPO)} (exit {run.returncode}); if the change in "
        "output is intended, re-execute and save it: .venv/bin/python tests/notebook_tools.py "
        f"{path.relative_to(REPO)}\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    )
