"""assesskit: design, run and critique performance-assessment schemes (考核评价方案).

The data flows one way: raw data -> :class:`Dataset` -> :class:`Scheme` applied by
:func:`evaluate` -> :class:`Evaluation` (scores, ranks, outcomes, contributions, explanations)
-> analyses (weights, comparison, uncertainty) -> notebooks and reports.
"""

from . import datasets, sensitivity, synthetic, weights
from .compare import Comparison, compare
from .dataset import LEVELS, Dataset
from .errors import AssessKitError, DataError, Problem, SchemeError
from .evaluation import Evaluation, evaluate, evaluate_periods
from .io import load_dataset, parse_numeric, read_table
from .scheme import Scheme, builtin_schemes, load_scheme
from .uncertainty import uncertainty

__version__ = "0.1.0"

__all__ = [
    "LEVELS",
    "AssessKitError",
    "DataError",
    "Dataset",
    "Evaluation",
    "Problem",
    "Scheme",
    "SchemeError",
    "Comparison",
    "builtin_schemes",
    "compare",
    "datasets",
    "evaluate",
    "evaluate_periods",
    "load_dataset",
    "load_scheme",
    "parse_numeric",
    "read_table",
    "sensitivity",
    "synthetic",
    "uncertainty",
    "weights",
]
