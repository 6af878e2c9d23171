"""assesskit: design, run and critique performance-assessment schemes (考核评价方案)."""

from . import datasets
from .dataset import LEVELS, Dataset
from .errors import AssessKitError, DataError, Problem, SchemeError

__version__ = "0.1.0"

__all__ = [
    "LEVELS",
    "AssessKitError",
    "DataError",
    "Dataset",
    "Problem",
    "SchemeError",
    "datasets",
]
