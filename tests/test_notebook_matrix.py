"""The notebook matrix: every notebook runs for every built-in scheme with its bundled dataset.

For each pair (found by globbing notebooks/ and listing ``assesskit.builtin_schemes()``, so a new
notebook or scheme joins the matrix without editing this file), papermill runs the notebook with
the parameters of ``notebook_tools.matrix_parameters``: the scheme, its ``example_data``, the
latest period, and the notebook's small parameters (metadata ``assesskit.matrix.parameters``).
The run must

- finish without an error and without writing to standard error;
- either apply, or say in its first output that it does not apply (the statement of
  :func:`assesskit.report.narrative.does_not_apply`, naming the scheme and giving a reason);
- name in its prose (Markdown cells, printed Markdown and text, report HTML) no group,
  consequence or place of another built-in scheme that this scheme and its data lack
  (:func:`assesskit.report.narrative.foreign_names`).

The matrix is slow (one kernel per run); ``pytest -n 2`` (the default, see pyproject.toml) runs
it on two workers.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from notebook_tools import (
    KERNEL_NAME,
    first_output_text,
    kernel_environment,
    matrix_parameters,
    narrative_text,
    notebooks,
    write_kernelspec,
)

import assesskit as ak
from assesskit.report.context import example_data
from assesskit.report.narrative import NOT_APPLICABLE, foreign_names

#: How a notebook that cannot apply opens its first output (narrative.does_not_apply; the
#: analyses' own *_or_reason helpers say "This analysis does not apply").
STATEMENT = re.compile(r"^\*\*This (notebook|analysis) does not apply\*\*")
assert STATEMENT.match(NOT_APPLICABLE)

NOTEBOOKS = notebooks()
SCHEMES = ak.builtin_schemes()
MATRIX = [(nb, scheme) for nb in NOTEBOOKS for scheme in SCHEMES]

#: Pairs known not to apply (so that a notebook cannot pass by refusing every scheme): the peer
#: review needs a level scored from rating sheets; the outcome analysis's default outcome
#: (3-year GDP-per-capita growth) is in the Sichuan data only; the Monte Carlo over a tree's
#: design choices, the regrouping and the counterfactuals need indicators, which a level graded
#: from rating sheets lacks. Every other pair of these notebooks and schemes must apply; a
#: notebook or scheme added later is free either way.
KNOWN_SCHEMES = {"sichuan-39", "dingxi", "jincheng-1plus4", "undp-hdi",
                 "yingshan-first-secretaries", "jiange-five-musts"}
REVIEW = "yingshan-first-secretaries"  # its level is graded from rating sheets: no indicators
KNOWN_NOTEBOOKS = {"explore-data", "compare-weights", "uncertainty", "annual-report",
                   "unit-report", "outcome-validity", "scheme-audit", "regional-grouping",
                   "what-it-takes", "peer-review"}
DOES_NOT_APPLY = ({("peer-review", s) for s in KNOWN_SCHEMES - {REVIEW}}
                  | {("outcome-validity", s) for s in KNOWN_SCHEMES - {"sichuan-39"}}
                  | {(nb, REVIEW) for nb in ("uncertainty", "regional-grouping", "what-it-takes")})


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    return kernel_environment(write_kernelspec(tmp_path_factory.mktemp("jupyter")))


@pytest.mark.slow
@pytest.mark.parametrize("path, scheme", MATRIX,
                         ids=[f"{p.stem}-{s}" for p, s in MATRIX])
def test_notebook_runs_for_every_builtin_scheme(path, scheme, tmp_path, kernel_env, monkeypatch):
    import papermill

    committed = nbformat.read(path, as_version=4)
    params = matrix_parameters(committed, path, scheme)
    for key in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(key, kernel_env[key])
    out = tmp_path / path.name
    papermill.execute_notebook(
        str(path), str(out), parameters=params, kernel_name=KERNEL_NAME, cwd=str(tmp_path),
        progress_bar=False, execution_timeout=180, request_save_on_cell_execute=False,
    )
    executed = nbformat.read(out, as_version=4)
    stderr = [o.text for c in executed.cells for o in c.get("outputs", [])
              if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{path.name} on {scheme} with {params} wrote to stderr:\n" + "\n".join(
        stderr)
    first = first_output_text(executed)
    if path.stem in KNOWN_NOTEBOOKS and scheme in KNOWN_SCHEMES:
        expected = (path.stem, scheme) in DOES_NOT_APPLY
        assert ("does not apply**" in first) == expected, (
            f"{path.name} on {scheme} should {'not ' if not expected else ''}say that it does "
            f"not apply; its first output: {first[:300]!r}")
    if "does not apply**" in first:
        # the statement opens the first output, names the scheme and gives a reason
        assert STATEMENT.match(first), f"{path.name} on {scheme}: {first!r}"
        assert scheme in first.replace("\\", ""), f"{path.name}: {first!r} names no scheme"
        assert len(first.split(":", 1)[1].strip()) > 30, f"no reason given: {first!r}"
    data = ak.datasets.load(example_data(scheme))
    found = []
    for cell, text in narrative_text(executed):
        names = foreign_names(text, scheme, data)
        if names:
            found.append(f"cell {cell}: {names} in {text[:300]!r}")
    assert not found, (f"{path.name} on {scheme} names what the scheme lacks:\n"
                       + "\n".join(found))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_run_applies_and_its_prose_names_only_its_scheme(path):
    """The committed outputs (default parameters) apply to their scheme and pass the check."""
    import papermill

    nb = nbformat.read(path, as_version=4)
    assert "does not apply**" not in first_output_text(nb), path.name
    defaults = {k: v["default"].strip("\"'") for k, v in
                papermill.inspect_notebook(str(path)).items()}
    scheme = defaults.get("scheme", "sichuan-39")
    if scheme not in SCHEMES:
        pytest.skip(f"{path.name}: default scheme {scheme!r} is not built in")
    data = defaults.get("dataset")
    data = ak.datasets.load(data if data not in (None, "None") else example_data(scheme))
    found = [(cell, names) for cell, text in narrative_text(nb)
             if (names := foreign_names(text, scheme, data))]
    # outcome-validity adds a real-data check of the HDI to its default run (hdr_periods)
    allowed = {"outcome-validity": {"AS", "EAP", "ECA", "LAC", "SA", "SSA", "undp"}}
    found = [(c, n) for c, n in found if set(n) - allowed.get(path.stem, set())]
    assert not found, f"{path.name}: {found}"
