"""assesskit: design, run and critique performance-assessment schemes (考核评价方案).

The package is laid out as the pipeline it implements; each layer imports only the layers
before it:

``assesskit.data``
    the data model (:class:`Dataset`), loaders, bundled and synthetic datasets;
``assesskit.scheme.model``
    schemes as YAML data: the format, loading and every check made at load;
``assesskit.engine``
    the one engine: scoring rules, tree aggregation, totals, ranking, quotas, grades and
    multi-period rules as array kernels over a leading draws axis, and :func:`evaluate`;
``assesskit.analysis``
    weights, comparison, uncertainty and sensitivity, and the other critiques of a scheme;
``assesskit.report``
    plots, report pages (papermill-executed notebooks) and report sets.

The names below are the public API; they are imported on first use so that
``import assesskit`` stays quick.
"""

from __future__ import annotations

import importlib

from .errors import AssessKitError, DataError, Notice, OutputError, Problem, SchemeError

__version__ = "0.2.0"

# public name -> (module, attribute); attribute None: the name is the module itself
_LAZY = {
    "LEVELS": ("assesskit.data.model", "LEVELS"),
    "Dataset": ("assesskit.data.model", "Dataset"),
    "load_dataset": ("assesskit.data.io", "load_dataset"),
    "read_table": ("assesskit.data.io", "read_table"),
    "parse_numeric": ("assesskit.data.numbers", "parse_numeric"),
    "datasets": ("assesskit.data.datasets", None),
    "synthetic": ("assesskit.data.synthetic", None),
    "Scheme": ("assesskit.scheme.model", "Scheme"),
    "builtin_schemes": ("assesskit.scheme.model", "builtin_schemes"),
    "load_scheme": ("assesskit.scheme.model", "load_scheme"),
    "Evaluation": ("assesskit.engine.evaluation", "Evaluation"),
    "evaluate": ("assesskit.engine.evaluation", "evaluate"),
    "evaluate_periods": ("assesskit.engine.evaluation", "evaluate_periods"),
    "weights": ("assesskit.analysis.weights", None),
    "sensitivity": ("assesskit.analysis.sensitivity", None),
    "Comparison": ("assesskit.analysis.compare", "Comparison"),
    "compare": ("assesskit.analysis.compare", "compare"),
    "uncertainty": ("assesskit.analysis.uncertainty", "uncertainty"),
    "regroup": ("assesskit.analysis.grouping", "regroup"),
    "counterfactuals": ("assesskit.analysis.counterfactual", "counterfactuals"),
    "incentives": ("assesskit.analysis.incentives", "incentives"),
}

__all__ = ["AssessKitError", "DataError", "Notice", "OutputError", "Problem", "SchemeError",
           *_LAZY]


def __getattr__(name: str):
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'assesskit' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
