"""Weighting methods (赋权方法) and weights in a scheme.

:mod:`~assesskit.analysis.weights.methods` holds the pure methods (a units × indicators matrix
in, weights out: :func:`equal`, :func:`entropy`, :func:`critic`, :func:`std`, :func:`pca`,
:func:`ahp`, :func:`bod`); :mod:`~assesskit.analysis.weights.schemes` the helpers bound to a
scheme (:func:`official`, :func:`node_matrix`, :func:`apply`, :func:`effective`);
:mod:`~assesskit.analysis.weights.adapt` the rules that fit a method to a node
(:func:`bod_share_bounds`, :func:`shift_nonnegative`, :func:`bod_adapted`, :func:`choose_node`,
:func:`variants`).
"""

from .adapt import (
    BOD_SHARE_LOWER,
    BOD_SHARE_UPPER,
    BodRun,
    WeightVariants,
    bod_adapted,
    bod_share_bounds,
    choose_node,
    shift_nonnegative,
    variants,
)
from .methods import (
    SAATY_RANDOM_INDEX,
    BodResult,
    ConstantIndicatorWarning,
    InconsistentJudgementsWarning,
    ahp,
    ahp_matrix,
    bod,
    correlation_ratio,
    critic,
    entropy,
    equal,
    normalise_weights,
    pca,
    std,
    varimax,
)
from .schemes import APPLY_METHODS, APPLY_MISSING, apply, effective, node_matrix, official

__all__ = [
    "APPLY_METHODS",
    "BOD_SHARE_LOWER",
    "BOD_SHARE_UPPER",
    "BodRun",
    "WeightVariants",
    "bod_adapted",
    "bod_share_bounds",
    "choose_node",
    "shift_nonnegative",
    "variants",
    "APPLY_MISSING",
    "SAATY_RANDOM_INDEX",
    "BodResult",
    "ConstantIndicatorWarning",
    "InconsistentJudgementsWarning",
    "ahp",
    "ahp_matrix",
    "apply",
    "bod",
    "correlation_ratio",
    "critic",
    "effective",
    "entropy",
    "equal",
    "node_matrix",
    "normalise_weights",
    "official",
    "pca",
    "std",
    "varimax",
]
