"""Weighting methods (赋权方法): derive indicator weights from data or from judgements.

Every data-driven method takes a DataFrame of **units × indicators** whose values are already
oriented so that *higher is better* (turn "lower is better" indicators round first) and returns a
:class:`pandas.Series` of weights indexed by indicator, named ``"weight"``, summing to 1.

====================  ============================================================================
function              method
====================  ============================================================================
:func:`equal`         equal weights (等权)
:func:`entropy`       entropy weight method (熵权法)
:func:`critic`        CRITIC, Diakoulaki et al. (1995)
:func:`std`           standard-deviation weights (标准差法)
:func:`pca`           principal-component / factor-loading weights, OECD/JRC Handbook (2008)
:func:`ahp`           analytic hierarchy process (层次分析法), eigenvector method, from a pairwise
                      comparison matrix (build one with :func:`ahp_matrix`)
:func:`bod`           benefit of the doubt (DEA); per-unit weights and scores (:class:`BodResult`)
====================  ============================================================================

Diagnostics travel with the weights in ``weights.attrs`` (always ``"method"`` and ``"params"``,
plus the method's own quantities listed in each docstring). They are stored as plain Python
numbers, lists and dicts, never pandas objects, so that ``pd.concat`` of several weight Series
still works (pandas compares ``attrs`` on concatenation and cannot compare Series inside them);
turn a nested dict back into a table with ``pd.DataFrame(weights.attrs["loadings"])``.

Input rules shared by all data-driven methods: a DataFrame with unique unit and indicator labels,
numeric columns only, no missing or infinite value (each one is reported as a
:class:`~assesskit.errors.Problem` naming the unit and the indicator; nothing is dropped), and at
least two units. An indicator that is constant over all units carries no information for the
dispersion-based methods (entropy, CRITIC, std): it gets weight 0 and a
:class:`ConstantIndicatorWarning`; :func:`pca` refuses it (its correlations are undefined).

Weights in a scheme (they use the scheme engine, imported inside the functions):

====================  ============================================================================
:func:`official`      the weights printed in a scheme: global leaf weights, or one node's children
:func:`node_matrix`   the units × children matrix a method sees at one node of a scheme
:func:`apply`         derive weights at one node with a method; returns ``scheme.with_weights``
:func:`effective`     how much each indicator really drives the final score (correlation ratio,
                      Paruolo, Saisana & Saltelli 2013), beside its nominal weight
====================  ============================================================================

Comparing the evaluations the variants produce is :func:`assesskit.analysis.compare.compare`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from sklearn.decomposition import PCA

from ...errors import DataError, Problem

__all__ = [
    "SAATY_RANDOM_INDEX",
    "BodResult",
    "ConstantIndicatorWarning",
    "InconsistentJudgementsWarning",
    "ahp",
    "ahp_matrix",
    "bod",
    "correlation_ratio",
    "critic",
    "entropy",
    "equal",
    "normalise_weights",
    "pca",
    "std",
    "varimax",
]

#: Saaty's random consistency index RI(n): the mean consistency index of random reciprocal
#: matrices of order n with entries drawn from the 1/9..9 scale. Saaty, T. L. (1980), *The
#: Analytic Hierarchy Process*, New York: McGraw-Hill. Some Chinese textbooks print a
#: different tail (n = 11..15: 1.52, 1.54, 1.56, 1.58, 1.59); pass ``random_index=`` to
#: :func:`ahp` to use it.
SAATY_RANDOM_INDEX: dict[int, float] = {
    1: 0.0,
    2: 0.0,
    3: 0.58,
    4: 0.90,
    5: 1.12,
    6: 1.24,
    7: 1.32,
    8: 1.41,
    9: 1.45,
    10: 1.49,
    11: 1.51,
    12: 1.48,
    13: 1.56,
    14: 1.57,
    15: 1.59,
}


class InconsistentJudgementsWarning(UserWarning):
    """An AHP pairwise comparison matrix has a consistency ratio above the threshold (0.1)."""


class ConstantIndicatorWarning(UserWarning):
    """An indicator is constant over all units, so a dispersion-based method gives it weight 0."""


# --------------------------------------------------------------------------------------------
# validation and small helpers
# --------------------------------------------------------------------------------------------


def _check_matrix(X: object, method: str, *, nonnegative: bool = False) -> pd.DataFrame:
    """Validate a units × indicators matrix and return it as a float DataFrame."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{method}: expected a pandas DataFrame of units (rows) × indicators (columns), "
            f"got {type(X).__name__}; build one with Dataset.wide(period) or pd.DataFrame(...)"
        )
    problems: list[Problem] = []
    if X.shape[1] == 0:
        problems.append(Problem(f"{method}: the matrix has no indicator column"))
    if X.shape[0] < 2:
        problems.append(
            Problem(
                f"{method}: weights need at least 2 units (rows), got {X.shape[0]}; "
                "a weight derived from one unit is meaningless"
            )
        )
    for label, what in ((X.index, "unit"), (X.columns, "indicator")):
        dup = label[label.duplicated()].unique()
        for d in dup:
            problems.append(Problem(f"{what} {d!r} appears more than once; labels must be unique"))
    for col in X.columns:
        dtype = X[col].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            problems.append(
                Problem(
                    f"indicator is not numeric (dtype {dtype}); convert it to numbers "
                    "(pd.to_numeric) or leave it out",
                    column=str(col),
                )
            )
    if problems:
        raise DataError(problems, title=f"{method}: {len(problems)} problem(s) in the matrix")
    values = X.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if nonnegative:
        bad |= np.isfinite(values) & (values < 0)
    for i, j in zip(*np.nonzero(bad), strict=True):
        v = values[i, j]
        if np.isnan(v):
            msg = "value is missing (NaN); impute it or drop the unit explicitly before weighting"
        elif not np.isfinite(v):
            msg = "value is infinite; fix the source value"
        else:
            msg = f"{method} needs non-negative values; shift or re-scale the indicator"
        problems.append(
            Problem(f"unit {X.index[i]!r}: {msg}", column=str(X.columns[j]), value=float(v))
        )
    if problems:
        raise DataError(problems, title=f"{method}: {len(problems)} bad value(s) in the matrix")
    return pd.DataFrame(values, index=X.index, columns=X.columns)


def _minmax(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min–max scale each column to [0, 1]; constant columns become 0. Returns (scaled, constant)."""
    lo = values.min(axis=0)
    span = values.max(axis=0) - lo
    constant = span <= 1e-12 * np.maximum(1.0, np.abs(lo))
    scaled = np.zeros_like(values)
    scaled[:, ~constant] = (values[:, ~constant] - lo[~constant]) / span[~constant]
    return scaled, constant


def _warn_constant(method: str, columns: pd.Index, constant: np.ndarray) -> None:
    if constant.any():
        names = ", ".join(repr(c) for c in columns[constant])
        warnings.warn(
            ConstantIndicatorWarning(
                f"{method}: indicator(s) {names} take the same value for every unit, so they carry "
                "no information and get weight 0"
            ),
            stacklevel=3,
        )


def _as_dict(values: np.ndarray, labels: pd.Index) -> dict:
    return {label: float(v) for label, v in zip(labels, values, strict=True)}


def _weights(raw: np.ndarray, columns: pd.Index, method: str, params: dict) -> pd.Series:
    w = pd.Series(raw / raw.sum(), index=columns, name="weight", dtype=float)
    w.index.name = "indicator"
    w.attrs = {"method": method, "params": params}
    return w


def normalise_weights(weights: pd.Series | Mapping) -> pd.Series:
    """Scale non-negative weights so that they sum to 1.

    Parameters
    ----------
    weights : Series or mapping
        Non-negative finite weights indexed by indicator; at least one must be positive.

    Returns
    -------
    Series
        ``weights / weights.sum()`` as float, same index and name (``"weight"`` if unnamed);
        ``attrs`` are kept.

    Raises
    ------
    DataError
        Listing every missing, infinite or negative weight, or if all weights are zero.

    Examples
    --------
    >>> normalise_weights(pd.Series({"gdp": 2.0, "tax": 1.0, "jobs": 1.0})).tolist()
    [0.5, 0.25, 0.25]
    """
    s = pd.Series(weights, dtype=float) if not isinstance(weights, pd.Series) else weights
    values = s.to_numpy(dtype=float)
    problems = [
        Problem("weight must be a finite number >= 0", column=str(k), value=float(v))
        for k, v in zip(s.index, values, strict=True)
        if not np.isfinite(v) or v < 0
    ]
    if not problems and values.sum() <= 0:
        problems.append(Problem("all weights are zero; at least one must be positive"))
    if problems:
        raise DataError(problems, title="cannot normalise the weights")
    out = pd.Series(values / values.sum(), index=s.index, name=s.name or "weight")
    out.attrs = dict(s.attrs)
    return out


# --------------------------------------------------------------------------------------------
# equal, entropy, CRITIC, standard deviation
# --------------------------------------------------------------------------------------------


def equal(X: pd.DataFrame) -> pd.Series:
    """Equal weights (等权): every indicator gets 1/m.

    Parameters
    ----------
    X : DataFrame
        Units × indicators. Values are validated (no NaN) although they do not affect the weights.

    Returns
    -------
    Series
        ``1/m`` for each of the m indicators; ``attrs["method"] == "equal"``.

    Raises
    ------
    DataError
        If the matrix is malformed (see the module notes).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 5.0]}, index=["u1", "u2"])
    >>> equal(X).tolist()
    [0.5, 0.5]
    """
    M = _check_matrix(X, "equal")
    return _weights(np.ones(M.shape[1]), M.columns, "equal", {})


def entropy(
    X: pd.DataFrame,
    *,
    normalise: str = "minmax",
    zero: str = "convention",
    shift: float = 0.01,
) -> pd.Series:
    """Entropy weight method (熵权法).

    Indicators on which the units differ more (lower Shannon entropy of the unit shares) get more
    weight.

    Parameters
    ----------
    X : DataFrame
        Units × indicators, higher is better.
    normalise : {"minmax", "sum"}
        ``"minmax"`` (default, the usual Chinese practice) first rescales each indicator to
        ``x' = (x - min) / (max - min)`` in [0, 1]; ``"sum"`` uses the raw values, which must be
        non-negative (as in Xu 2004).
    zero : {"convention", "shift"}
        How to treat shares equal to 0 (min–max always creates one per indicator, at its
        minimum). ``"convention"`` (default) uses the information-theory limit
        ``0 · ln 0 = 0``. ``"shift"`` adds ``shift`` to every normalised value before taking shares
        (整体平移), the device several libraries and papers use to avoid ``ln 0``; the result depends
        on ``shift`` and tends to the ``"convention"`` result as ``shift → 0``. (Some libraries
        instead set the entropy of any indicator containing a zero to 0, i.e. give it the largest
        weight; that rule is not offered.)
    shift : float
        Amount added when ``zero="shift"`` (default 0.01); ignored otherwise.

    Returns
    -------
    Series
        Weights summing to 1. ``attrs`` holds ``entropy`` (e_j) and ``divergence`` (d_j = 1 - e_j)
        per indicator and ``constant_indicators``.

    Raises
    ------
    DataError
        Malformed matrix; negative values with ``normalise="sum"``; every indicator constant.
    ValueError
        Unknown ``normalise`` or ``zero``, or ``shift <= 0``.

    Warns
    -----
    ConstantIndicatorWarning
        For indicators constant over all units; their d_j is 0, hence weight 0.

    Notes
    -----
    With n units and normalised values x'_ij,

    .. math::

        p_{ij} = x'_{ij} / \\sum_i x'_{ij}, \\qquad
        e_j = -\\frac{1}{\\ln n} \\sum_i p_{ij} \\ln p_{ij}, \\qquad
        d_j = 1 - e_j, \\qquad w_j = d_j / \\sum_k d_k .

    A constant indicator has e_j = 1 (the uniform distribution) by definition here, also under
    min–max where its shares would be 0/0.

    References
    ----------
    Shannon, C. E. (1948). A mathematical theory of communication. *Bell System Technical
    Journal*, 27, 379–423. Zeleny, M. (1982). *Multiple Criteria Decision Making*, McGraw-Hill.
    Xu, X. (2004). A note on the subjective and objective integrated approach to determine
    attribute weights. *European Journal of Operational Research*, 156(2), 530–532.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, 1.0, 1.0, 4.0]})
    >>> entropy(X).round(3).tolist()
    [0.213, 0.787]
    """
    if normalise not in ("minmax", "sum"):
        raise ValueError(f"entropy: normalise must be 'minmax' or 'sum', got {normalise!r}")
    if zero not in ("convention", "shift"):
        raise ValueError(f"entropy: zero must be 'convention' or 'shift', got {zero!r}")
    if zero == "shift" and not (np.isfinite(shift) and shift > 0):
        raise ValueError(f"entropy: shift must be a positive number, got {shift!r}")
    M = _check_matrix(X, "entropy", nonnegative=(normalise == "sum"))
    values = M.to_numpy()
    n = values.shape[0]
    if normalise == "minmax":
        scaled, constant = _minmax(values)
    else:
        scaled = values
        constant = np.ptp(values, axis=0) <= 1e-12 * np.maximum(1.0, np.abs(values).max(axis=0))
    if zero == "shift":
        scaled = scaled + shift
    _warn_constant("entropy", M.columns, constant)
    if constant.all():
        raise DataError(
            "entropy: every indicator is constant over the units, so no weight can be derived",
        )
    live = scaled[:, ~constant]
    p = live / live.sum(axis=0)
    # 0·ln 0 = 0: the limit of p·ln p as p → 0
    plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    e = np.ones(values.shape[1])
    e[~constant] = -plogp.sum(axis=0) / np.log(n)
    d = 1.0 - e
    d[constant] = 0.0
    w = _weights(
        d, M.columns, "entropy", {"normalise": normalise, "zero": zero, "shift": float(shift)}
    )
    w.attrs.update(
        entropy=_as_dict(e, M.columns),
        divergence=_as_dict(d, M.columns),
        constant_indicators=[c for c, k in zip(M.columns, constant, strict=True) if k],
    )
    return w



def _scaled_matrix(X: pd.DataFrame, method: str, normalise: str):
    """Checked matrix, its values, the values to weight (min–max scaled unless ``normalise`` is
    ``"none"``) and the mask of constant indicators — the common start of CRITIC and std."""
    if normalise not in ("minmax", "none"):
        raise ValueError(f"{method}: normalise must be 'minmax' or 'none', got {normalise!r}")
    M = _check_matrix(X, method)
    values = M.to_numpy()
    scaled, constant = _minmax(values)
    return M, values, (values if normalise == "none" else scaled), constant

def critic(X: pd.DataFrame, *, normalise: str = "minmax") -> pd.Series:
    """CRITIC weights (CRiteria Importance Through Intercriteria Correlation).

    An indicator weighs more when it varies more across units (contrast) and when it is less
    correlated with the others (conflict).

    Parameters
    ----------
    X : DataFrame
        Units × indicators, higher is better.
    normalise : {"minmax", "none"}
        ``"minmax"`` (default, as in Diakoulaki et al.) rescales each indicator to [0, 1] before
        taking standard deviations; ``"none"`` uses the raw values (then σ_j depends on the unit of
        measure).

    Returns
    -------
    Series
        Weights summing to 1. ``attrs``: ``sd`` (σ_j), ``conflict`` (Σ_k (1 - r_jk)),
        ``information`` (C_j), ``correlation`` (nested dict r_jk) and ``constant_indicators``.

    Raises
    ------
    DataError
        Malformed matrix, or fewer than two non-constant indicators, or all informative indicators
        perfectly correlated (every C_j = 0).

    Warns
    -----
    ConstantIndicatorWarning
        For indicators constant over all units: σ_j = 0 so C_j = 0 and weight 0. They are left out
        of the correlation matrix (their correlations are undefined), so adding a constant
        indicator leaves the other weights unchanged.

    Notes
    -----
    .. math::

        C_j = \\sigma_j \\sum_{k=1}^{m} (1 - r_{jk}), \\qquad w_j = C_j / \\sum_k C_k

    with σ_j the sample standard deviation (ddof = 1; the choice cancels out in w_j) and r_jk
    Pearson's correlation of the normalised indicators.

    References
    ----------
    Diakoulaki, D., Mavrotas, G., & Papayannakis, L. (1995). Determining objective weights in
    multiple criteria problems: the CRITIC method. *Computers & Operations Research*, 22(7),
    763–770.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]})
    >>> critic(X).round(3).tolist()
    [0.5, 0.5]
    """
    M, values, scaled, constant = _scaled_matrix(X, "critic", normalise)
    if (~constant).sum() < 2:
        raise DataError(
            "critic: needs at least two indicators that vary across units "
            f"(got {(~constant).sum()}); with one, use equal() or give it weight 1 directly"
        )
    _warn_constant("critic", M.columns, constant)
    live = scaled[:, ~constant]
    sd = np.zeros(values.shape[1])
    sd[~constant] = live.std(axis=0, ddof=1)
    r = np.corrcoef(live, rowvar=False)
    conflict = np.zeros(values.shape[1])
    conflict[~constant] = (1.0 - r).sum(axis=0)
    info = sd * conflict
    if info.sum() <= 0:
        raise DataError(
            "critic: every informative indicator is perfectly correlated with the others, so "
            "every C_j is 0 and CRITIC cannot weight them"
        )
    w = _weights(info, M.columns, "critic", {"normalise": normalise, "ddof": 1})
    live_cols = M.columns[~constant]
    w.attrs.update(
        sd=_as_dict(sd, M.columns),
        conflict=_as_dict(conflict, M.columns),
        information=_as_dict(info, M.columns),
        correlation={a: _as_dict(r[i], live_cols) for i, a in enumerate(live_cols)},
        constant_indicators=[c for c, k in zip(M.columns, constant, strict=True) if k],
    )
    return w


def std(X: pd.DataFrame, *, normalise: str = "minmax") -> pd.Series:
    """Standard-deviation weights (标准差法): w_j proportional to the spread of indicator j.

    Parameters
    ----------
    X : DataFrame
        Units × indicators, higher is better.
    normalise : {"minmax", "none"}
        ``"minmax"`` (default) takes σ of the indicators rescaled to [0, 1], so that the unit of
        measure does not matter and σ_j measures how evenly the units spread over the range;
        ``"none"`` takes σ of the raw values (only meaningful for indicators on a common scale).

    Returns
    -------
    Series
        Weights summing to 1; ``attrs["sd"]`` holds σ_j (ddof = 1, which cancels in w_j).

    Raises
    ------
    DataError
        Malformed matrix, or every indicator constant.

    Warns
    -----
    ConstantIndicatorWarning
        For indicators constant over all units (σ_j = 0, weight 0).

    Notes
    -----
    .. math:: w_j = \\sigma_j / \\sum_k \\sigma_k

    References
    ----------
    Diakoulaki, D., Mavrotas, G., & Papayannakis, L. (1995), see :func:`critic`: σ_j is CRITIC's
    contrast term, used here without the conflict term.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [0.0, 0.0, 9.0]})
    >>> std(X, normalise="none").round(3).tolist()
    [0.161, 0.839]
    """
    M, values, scaled, constant = _scaled_matrix(X, "std", normalise)
    _warn_constant("std", M.columns, constant)
    if constant.all():
        raise DataError("std: every indicator is constant over the units, so all σ_j are 0")
    sd = scaled.std(axis=0, ddof=1)
    sd[constant] = 0.0
    w = _weights(sd, M.columns, "std", {"normalise": normalise, "ddof": 1})
    w.attrs.update(
        sd=_as_dict(sd, M.columns),
        constant_indicators=[c for c, k in zip(M.columns, constant, strict=True) if k],
    )
    return w


# --------------------------------------------------------------------------------------------
# principal components / factor loadings
# --------------------------------------------------------------------------------------------


def varimax(
    loadings: np.ndarray, *, normalize: bool = True, tol: float = 1e-10, max_iter: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """Varimax rotation of a loading matrix (Kaiser 1958).

    Parameters
    ----------
    loadings : ndarray, shape (p, k)
        Loadings of p indicators on k factors.
    normalize : bool
        Kaiser normalisation: rotate the rows scaled to unit communality, then scale back
        (default, as R's ``stats::varimax`` and SPSS).
    tol, max_iter : float, int
        Stop when the criterion improves by less than a relative ``tol``.

    Returns
    -------
    rotated : ndarray, shape (p, k)
        ``loadings @ rotation``.
    rotation : ndarray, shape (k, k)
        The orthogonal rotation matrix.

    Notes
    -----
    Maximises :math:`\\sum_k [\\frac1p \\sum_i \\lambda_{ik}^4 - (\\frac1p \\sum_i
    \\lambda_{ik}^2)^2]` over orthogonal rotations with the SVD algorithm of Kaiser's criterion
    (as in R ``stats::varimax``). Communalities (row sums of squared loadings) are unchanged.

    References
    ----------
    Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
    *Psychometrika*, 23(3), 187–200.
    """
    L = np.asarray(loadings, dtype=float)
    p, k = L.shape
    if k < 2:
        return L.copy(), np.eye(k)
    h = np.sqrt((L**2).sum(axis=1)) if normalize else np.ones(p)
    h = np.where(h > 0, h, 1.0)
    A = L / h[:, None]
    T = np.eye(k)
    crit = 0.0
    for _ in range(max_iter):
        Z = A @ T
        B = A.T @ (Z**3 - Z * (Z**2).sum(axis=0) / p)
        u, s, vt = np.linalg.svd(B)
        T = u @ vt
        new = s.sum()
        if new <= crit * (1 + tol):
            break
        crit = new
    return (A @ T) * h[:, None], T


def pca(
    X: pd.DataFrame,
    *,
    n_components: int | None = None,
    rotation: str | None = "varimax",
) -> pd.Series:
    """Weights from principal-component factor loadings, as in the OECD/JRC Handbook (2008).

    Parameters
    ----------
    X : DataFrame
        Units × indicators, higher is better. No constant indicator (correlations undefined).
    n_components : int, optional
        Number of components kept. Default: Kaiser's rule, the components of the correlation
        matrix with eigenvalue > 1 (at least one). The Handbook also asks that a kept component
        explain > 10% of the variance and that those kept explain > 60% together; its own TAI
        example keeps four components (eigenvalues 3.3, 1.7, 1.0, 0.9), so pass the number when
        following it.
    rotation : {"varimax", None}
        Rotate the kept loadings by :func:`varimax` (default, as the Handbook) or not.

    Returns
    -------
    Series
        Weights summing to 1. ``attrs``: ``eigenvalues`` and ``explained_variance_ratio`` of every
        component (PC1, PC2, ...), ``n_components``, ``rule`` (``"kaiser: eigenvalue > 1"`` or
        ``"fixed"``), ``rotation``, ``loadings`` (indicator → factor → loading, after rotation),
        ``factor_variance`` (variance explained by each kept, rotated factor), ``factor_share``
        (its share of the kept total), ``factor`` (the factor each indicator is assigned to).

    Raises
    ------
    DataError
        Malformed matrix or a constant indicator.
    ValueError
        ``n_components`` out of range or unknown ``rotation``.

    Notes
    -----
    Indicators are standardised (ddof = 1) and decomposed with scikit-learn's PCA (full SVD), so
    the eigenvalues are those of the correlation matrix; loadings are
    :math:`\\lambda_{ik} = v_{ik}\\sqrt{\\ell_k}`. After rotation, with
    :math:`V_k = \\sum_i \\lambda_{ik}^2` the variance explained by factor k, the Handbook's steps
    are: squared loadings scaled to unity sum per factor, :math:`s_{ik} = \\lambda_{ik}^2 / V_k`;
    each indicator assigned to the factor where :math:`s_{ik}` is largest (this groups the
    indicators into intermediate composites); the factor weighted by its share of explained
    variance :math:`V_k / \\sum_l V_l`; hence

    .. math::

        w_i \\propto s_{i k(i)} \\cdot \\frac{V_{k(i)}}{\\sum_l V_l}
            = \\frac{\\lambda_{i k(i)}^2}{\\sum_l V_l},

    normalised to sum to 1. Squared loadings ignore sign: an indicator that loads *negatively*
    on its factor still gets a positive weight; inspect ``attrs["loadings"]``. Each factor's sign
    is fixed so that its loadings sum to a non-negative number (the decomposition leaves it free).

    References
    ----------
    OECD & JRC (2008). *Handbook on Constructing Composite Indicators: Methodology and User
    Guide*. Paris: OECD (weights based on principal components or factor analysis, with the
    Technology Achievement Index example). Kaiser, H. F. (1958), see
    :func:`varimax`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(30, 4)), columns=list("abcd"))
    >>> w = pca(X, n_components=2)
    >>> round(float(w.sum()), 12), w.attrs["n_components"]
    (1.0, 2)
    """
    if rotation not in ("varimax", None):
        raise ValueError(f"pca: rotation must be 'varimax' or None, got {rotation!r}")
    M = _check_matrix(X, "pca")
    values = M.to_numpy()
    _, constant = _minmax(values)
    if constant.any():
        raise DataError(
            [
                Problem(
                    "indicator is constant over all units, so its correlations are undefined; "
                    "leave it out of a PCA weighting",
                    column=str(c),
                )
                for c in M.columns[constant]
            ],
            title="pca: constant indicator(s)",
        )
    n, m = values.shape
    Z = (values - values.mean(axis=0)) / values.std(axis=0, ddof=1)
    model = PCA(svd_solver="full").fit(Z)
    eig = model.explained_variance_  # eigenvalues of the correlation matrix (ddof = 1)
    n_avail = len(eig)
    if n_components is None:
        k = max(1, int((eig > 1.0).sum()))
        rule = "kaiser: eigenvalue > 1"
    else:
        if int(n_components) != n_components or not 1 <= n_components <= n_avail:
            raise ValueError(
                f"pca: n_components must be an integer from 1 to {n_avail} "
                f"(min(units - 1, indicators) for this matrix), got {n_components!r}"
            )
        k = int(n_components)
        rule = "fixed"
    L = model.components_[:k].T * np.sqrt(eig[:k])
    if rotation == "varimax":
        L, _ = varimax(L)
    L = L * np.where(L.sum(axis=0) < 0, -1.0, 1.0)
    factor_var = (L**2).sum(axis=0)
    scaled = L**2 / factor_var
    assigned = scaled.argmax(axis=1)
    share = factor_var / factor_var.sum()
    raw = scaled[np.arange(m), assigned] * share[assigned]
    pcs = [f"PC{i + 1}" for i in range(n_avail)]
    factors = [f"F{i + 1}" for i in range(k)]
    w = _weights(
        raw, M.columns, "pca", {"n_components": n_components, "rotation": rotation, "ddof": 1}
    )
    w.attrs.update(
        eigenvalues=dict(zip(pcs, map(float, eig), strict=True)),
        explained_variance_ratio=dict(
            zip(pcs, map(float, model.explained_variance_ratio_), strict=True)
        ),
        n_components=k,
        rule=rule,
        rotation=rotation,
        loadings={
            c: dict(zip(factors, map(float, L[i]), strict=True)) for i, c in enumerate(M.columns)
        },
        factor_variance=dict(zip(factors, map(float, factor_var), strict=True)),
        factor_share=dict(zip(factors, map(float, share), strict=True)),
        factor={c: factors[a] for c, a in zip(M.columns, assigned, strict=True)},
    )
    return w


# --------------------------------------------------------------------------------------------
# AHP
# --------------------------------------------------------------------------------------------


def ahp_matrix(labels: list, judgements: Mapping[tuple, float]) -> pd.DataFrame:
    """Build a reciprocal pairwise comparison matrix (判断矩阵) from one judgement per pair.

    Parameters
    ----------
    labels : list
        The compared elements (indicators), in the order wanted.
    judgements : mapping
        ``{(a, b): value}``: how many times more important ``a`` is than ``b`` (Saaty's 1–9 scale
        or its reciprocals). Give every unordered pair exactly once, in either direction.

    Returns
    -------
    DataFrame
        Square matrix with ``a_ab = value``, ``a_ba = 1/value`` and a unit diagonal, ready for
        :func:`ahp`.

    Raises
    ------
    DataError
        Listing every unknown label, self-comparison, non-positive value, pair given twice and
        pair missing.

    Examples
    --------
    >>> ahp_matrix(["a", "b"], {("a", "b"): 3}).loc["b", "a"]
    np.float64(0.3333333333333333)
    """
    labels = list(labels)
    pos = {label: i for i, label in enumerate(labels)}
    n = len(labels)
    A = np.eye(n)
    seen: dict[frozenset, tuple] = {}
    problems: list[Problem] = []
    for (a, b), v in judgements.items():
        where = f"judgement ({a!r}, {b!r})"
        unknown = [x for x in (a, b) if x not in pos]
        if unknown:
            problems.append(Problem(f"{where}: unknown label(s) {unknown}; known: {labels}"))
            continue
        if a == b:
            problems.append(Problem(f"{where}: an element is not compared with itself"))
            continue
        try:
            v = float(v)
        except (TypeError, ValueError):
            problems.append(Problem(f"{where}: not a number", value=v))
            continue
        if not (np.isfinite(v) and v > 0):
            problems.append(Problem(f"{where}: must be a positive number", value=v))
            continue
        key = frozenset((a, b))
        if key in seen:
            problems.append(Problem(f"{where}: this pair was already judged as {seen[key]!r}"))
            continue
        seen[key] = (a, b)
        A[pos[a], pos[b]] = v
        A[pos[b], pos[a]] = 1.0 / v
    for i in range(n):
        for j in range(i + 1, n):
            if frozenset((labels[i], labels[j])) not in seen:
                problems.append(
                    Problem(f"pair ({labels[i]!r}, {labels[j]!r}) has no judgement; add one")
                )
    if problems:
        raise DataError(problems, title="ahp_matrix: bad judgements")
    return pd.DataFrame(A, index=labels, columns=labels)


def ahp(
    pairwise: pd.DataFrame | np.ndarray,
    *,
    cr_threshold: float = 0.1,
    random_index: float | Mapping[int, float] | None = None,
    tol: float = 0.02,
) -> pd.Series:
    """Analytic hierarchy process (层次分析法): weights from a pairwise comparison matrix.

    Parameters
    ----------
    pairwise : DataFrame or 2-D array
        Square positive reciprocal matrix, ``a_ij`` = importance of i relative to j. A DataFrame
        must have the same labels in its index and columns (same order); an array gets labels
        0..n-1.
    cr_threshold : float
        Consistency ratios above this (Saaty: 0.1) raise an :class:`InconsistentJudgementsWarning`.
    random_index : float or mapping, optional
        RI to divide by: a number, or a table {n: RI}. Default :data:`SAATY_RANDOM_INDEX`
        (n ≤ 15).
    tol : float
        Reciprocity tolerance: ``|a_ij · a_ji - 1| <= tol`` and ``|a_ii - 1| <= tol``; the default
        0.02 accepts judgements typed to two decimals (0.33 for 1/3).

    Returns
    -------
    Series
        Principal right eigenvector normalised to sum 1. ``attrs``: ``lambda_max``, ``ci``,
        ``ri``, ``cr`` and ``consistent`` (``cr <= cr_threshold``).

    Raises
    ------
    DataError
        Not square, labels differ, or cells that are not positive finite numbers, off the unit
        diagonal or not reciprocal — every offending cell is named by row and column label.
    ValueError
        n > 15 without ``random_index``.

    Warns
    -----
    InconsistentJudgementsWarning
        If CR > ``cr_threshold``; the message gives CR.

    Notes
    -----
    :math:`A w = \\lambda_{max} w`, :math:`CI = (\\lambda_{max} - n)/(n - 1)`,
    :math:`CR = CI / RI(n)`. For n ≤ 2 every reciprocal matrix is consistent and CR = 0. A
    perfectly consistent matrix :math:`a_{ij} = w_i / w_j` returns w with
    :math:`\\lambda_{max} = n`.

    References
    ----------
    Saaty, T. L. (1977). A scaling method for priorities in hierarchical structures. *Journal of
    Mathematical Psychology*, 15(3), 234–281. Saaty, T. L. (1980). *The Analytic Hierarchy
    Process*. McGraw-Hill.

    Examples
    --------
    >>> A = ahp_matrix(["a", "b", "c"], {("a", "b"): 2, ("a", "c"): 4, ("b", "c"): 2})
    >>> ahp(A).round(4).tolist(), ahp(A).attrs["cr"] < 1e-12
    ([0.5714, 0.2857, 0.1429], True)
    """
    if isinstance(pairwise, pd.DataFrame):
        frame = pairwise
    else:
        arr = np.asarray(pairwise)
        if arr.ndim != 2:
            raise DataError(f"ahp: the pairwise matrix must be 2-D, got shape {arr.shape}")
        frame = pd.DataFrame(arr)
    rows, cols = list(frame.index), list(frame.columns)
    if frame.shape[0] != frame.shape[1]:
        raise DataError(f"ahp: the pairwise matrix must be square, got shape {frame.shape}")
    if rows != cols:
        raise DataError(
            "ahp: the row labels and column labels of the pairwise matrix differ "
            f"(rows {rows}, columns {cols}); both must list the same elements in the same order"
        )
    if len(set(rows)) != len(rows):
        raise DataError(f"ahp: labels must be unique, got {rows}")
    n = len(rows)
    if n == 0:
        raise DataError("ahp: the pairwise matrix is empty")
    A = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    problems: list[Problem] = []
    raw = frame.to_numpy()
    for i in range(n):
        for j in range(n):
            v = A[i, j]
            cell = f"cell (row {rows[i]!r}, column {cols[j]!r})"
            if not (np.isfinite(v) and v > 0):
                problems.append(
                    Problem(
                        f"{cell}: must be a positive number", column=str(cols[j]), value=raw[i, j]
                    )
                )
            elif i == j and abs(v - 1.0) > tol:
                problems.append(
                    Problem(f"{cell}: the diagonal must be 1", column=str(cols[j]), value=float(v))
                )
    if not problems:
        for i in range(n):
            for j in range(i + 1, n):
                if abs(A[i, j] * A[j, i] - 1.0) > tol:
                    problems.append(
                        Problem(
                            f"cells (row {rows[i]!r}, column {cols[j]!r}) = {A[i, j]:g} and "
                            f"(row {rows[j]!r}, column {cols[i]!r}) = {A[j, i]:g} are not "
                            f"reciprocal (product {A[i, j] * A[j, i]:.4g}, must be 1); set one "
                            "to 1 / the other",
                            column=str(cols[j]),
                        )
                    )
    if problems:
        raise DataError(problems, title=f"ahp: {len(problems)} problem(s) in the pairwise matrix")
    if random_index is None:
        table: Mapping[int, float] | None = SAATY_RANDOM_INDEX
        if n not in table:
            raise ValueError(
                f"ahp: Saaty's random index is tabulated for n <= 15, got n = {n}; pass "
                "random_index= (a number or a table) — or, better, split the comparison into a "
                "hierarchy of smaller groups (Saaty recommends at most 9 elements)"
            )
        ri = table[n]
    elif isinstance(random_index, Mapping):
        if n not in random_index:
            raise ValueError(f"ahp: random_index has no entry for n = {n}")
        ri = float(random_index[n])
    else:
        ri = float(random_index)
    vals, vecs = np.linalg.eig(A)
    top = int(np.argmax(vals.real))
    lam = float(vals[top].real)
    v = np.abs(vecs[:, top].real)  # the Perron vector of a positive matrix has one sign
    if n <= 2:
        lam = float(n)  # exact for reciprocal matrices of order ≤ 2; removes rounding noise
    ci = max(0.0, (lam - n) / (n - 1)) if n > 1 else 0.0
    cr = ci / ri if ri > 0 else 0.0
    w = _weights(v, frame.columns, "ahp", {"cr_threshold": cr_threshold, "tol": tol})
    w.attrs.update(lambda_max=lam, ci=ci, ri=ri, cr=cr, consistent=bool(cr <= cr_threshold))
    if cr > cr_threshold:
        warnings.warn(
            InconsistentJudgementsWarning(
                f"ahp: consistency ratio CR = {cr:.4f} exceeds {cr_threshold:g} "
                f"(lambda_max = {lam:.4f}, CI = {ci:.4f}, RI = {ri:.2f}, n = {n}); revise the "
                "judgements that contradict each other before using these weights"
            ),
            stacklevel=2,
        )
    return w


# --------------------------------------------------------------------------------------------
# benefit of the doubt
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodResult:
    """Result of :func:`bod`.

    Attributes
    ----------
    scores : Series
        Composite score of each unit under its own most favourable weights, in [0, 1]; 1 for the
        units on the best-practice frontier.
    weights : DataFrame
        Units × indicators: the optimal multipliers w_ij (per unit of the indicator's measure, not
        summing to 1). When the optimum is not unique (common for units with score 1) this is the
        one HiGHS returns; scores are unique.
    shares : DataFrame
        Units × indicators: pie shares ``w_ij y_ij / score_i`` — the part of each unit's score that
        comes from each indicator; rows sum to 1; NaN where the score is 0.
    bound_type : str
        ``"share"``, ``"weight"``, ``"absolute"`` or ``"none"``.
    bounds : dict
        Indicator → (lower, upper) as applied.
    """

    scores: pd.Series
    weights: pd.DataFrame
    shares: pd.DataFrame
    bound_type: str
    bounds: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: ``score`` followed by the pie share of every indicator."""
        return pd.concat([self.scores, self.shares.add_prefix("share_")], axis=1)


def _bod_bounds(bounds, bound_type: str, columns: pd.Index) -> dict:
    """Validate and expand ``bounds`` to indicator → (lo, hi)."""
    default_hi = None if bound_type == "absolute" else 1.0
    if bounds is None:
        spec = {}
    elif isinstance(bounds, Mapping):
        spec = dict(bounds)
    else:
        spec = dict.fromkeys(columns, bounds)
    problems: list[Problem] = []
    out: dict = {}
    for key in spec:
        if key not in columns:
            problems.append(
                Problem(f"bounds given for unknown indicator {key!r}; known: {list(columns)}")
            )
    for col in columns:
        pair = spec.get(col, (0.0, default_hi))
        try:
            lo, hi = pair
            lo = 0.0 if lo is None else float(lo)
            hi = default_hi if hi is None else float(hi)
        except (TypeError, ValueError):
            problems.append(
                Problem(
                    "bounds must be a (lower, upper) pair of numbers", column=str(col), value=pair
                )
            )
            continue
        if lo < 0 or (hi is not None and (hi < lo or (bound_type != "absolute" and hi > 1))):
            rng = "0 <= lower <= upper" + ("" if bound_type == "absolute" else " <= 1")
            problems.append(Problem(f"bounds need {rng}", column=str(col), value=(lo, hi)))
            continue
        out[col] = (lo, hi)
    if not problems and bound_type in ("share", "weight"):
        lo_sum = sum(b[0] for b in out.values())
        hi_sum = sum(b[1] for b in out.values())
        if lo_sum > 1 + 1e-9 or hi_sum < 1 - 1e-9:
            problems.append(
                Problem(
                    f"{bound_type} bounds cannot be met: lower bounds sum to {lo_sum:g} and upper "
                    f"bounds to {hi_sum:g}, but the {bound_type}s must sum to 1"
                )
            )
    if problems:
        raise DataError(problems, title="bod: bad bounds")
    return out


def bod(
    X: pd.DataFrame,
    bounds: tuple | Mapping | None = None,
    *,
    bound_type: str = "share",
) -> BodResult:
    """Benefit of the doubt (BoD) composite: each unit weighted by its most favourable weights.

    Every unit is scored with the indicator weights that make it look best, subject to no unit
    scoring above 1 with those weights (a DEA model with one constant input).

    Parameters
    ----------
    X : DataFrame
        Units × indicators, higher is better, non-negative (BoD is a ratio model).
    bounds : (lo, hi) or mapping indicator → (lo, hi), optional
        Weight restrictions; a single pair applies to every indicator; indicators left out of a
        mapping get (0, 1) (or (0, ∞) for absolute bounds). ``None`` for the unrestricted model.
    bound_type : {"share", "weight", "absolute"}
        What the bounds restrict (see Cherchye et al. 2007 on weight restrictions):

        - ``"share"`` (default): the pie share of indicator j in the evaluated unit's own score,
          ``lo_j <= w_j y_ij / Σ_k w_k y_ik <= hi_j`` — invariant to the units of measure;
        - ``"weight"``: the normalised weight ``lo_j <= w_j / Σ_k w_k <= hi_j`` (meaningful when
          the indicators share a scale; ``lo_j = hi_j = 1/m`` gives equal weights);
        - ``"absolute"``: ``lo_j <= w_j <= hi_j`` directly (``hi = None`` for no upper bound).

    Returns
    -------
    BodResult
        ``scores`` (Series), ``weights`` and ``shares`` (DataFrames, units × indicators).

    Raises
    ------
    DataError
        Malformed matrix, negative values, an indicator that is 0 for every unit, or bounds that
        are malformed or cannot be met.
    RuntimeError
        If the solver fails for a unit (named in the message).

    Notes
    -----
    For each unit c, solve the linear programme

    .. math::

        CI_c = \\max_{w \\ge 0} \\sum_j w_j y_{cj} \\quad \\text{s.t.} \\quad
        \\sum_j w_j y_{kj} \\le 1 \\;\\; \\forall k,

    plus the restrictions, made linear: ``w_j y_cj - lo_j Σ_k w_k y_ck >= 0`` and
    ``w_j y_cj - hi_j Σ_k w_k y_ck <= 0`` (share); the same with y replaced by 1 (weight).
    Solved with :func:`scipy.optimize.linprog` (``method="highs"``), **one LP per unit in a Python
    loop** — each LP is tiny, so this is fast for the few hundred units a scheme ranks.

    Under share bounds, a unit with value 0 on an indicator whose lower share bound is positive
    can only meet the bound with a zero score, so it scores 0: the restriction says that
    indicator must make up part of every unit's score.

    References
    ----------
    Cherchye, L., Moesen, W., Rogge, N., & Van Puyenbroeck, T. (2007). An introduction to
    'benefit of the doubt' composite indicators. *Social Indicators Research*, 82(1), 111–145.
    Melyn, W., & Moesen, W. (1991). Towards a synthetic indicator of macroeconomic performance.
    *Public Economics Research Paper* 17, KU Leuven.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 3.0, 4.0, 2.0], "b": [4.0, 3.0, 1.0, 1.0]},
    ...                  index=["A", "B", "C", "D"])
    >>> bod(X).scores.round(4).tolist()
    [1.0, 1.0, 1.0, 0.5556]
    """
    if bound_type not in ("share", "weight", "absolute"):
        raise ValueError(
            f"bod: bound_type must be 'share', 'weight' or 'absolute', got {bound_type!r}"
        )
    M = _check_matrix(X, "bod", nonnegative=True)
    Y = M.to_numpy()
    n, m = Y.shape
    zero_cols = M.columns[(Y == 0).all(axis=0)]
    if len(zero_cols):
        raise DataError(
            [
                Problem(
                    "indicator is 0 for every unit, so its BoD weight is undetermined; leave it out",
                    column=str(c),
                )
                for c in zero_cols
            ],
            title="bod: all-zero indicator(s)",
        )
    spec = _bod_bounds(bounds, bound_type, M.columns) if bounds is not None else {}
    lo = np.array([spec.get(c, (0.0, None))[0] for c in M.columns])
    hi = [spec.get(c, (0.0, None))[1] for c in M.columns]

    var_bounds = [(0.0, None)] * m
    if bound_type == "absolute" and spec:
        var_bounds = [(lo[j], hi[j]) for j in range(m)]
        # the weights' lower bounds alone must not push any unit above 1
        floor = Y @ lo
        over = np.nonzero(floor > 1 + 1e-9)[0]
        if len(over):
            raise DataError(
                [
                    Problem(
                        f"unit {M.index[k]!r} scores {floor[k]:.4g} > 1 at the lower weight bounds "
                        "alone, so no weights are feasible; lower the absolute lower bounds",
                    )
                    for k in over
                ],
                title="bod: absolute bounds cannot be met",
            )

    restricted = bound_type in ("share", "weight") and bool(spec)
    hi_arr = np.array([1.0 if h is None else h for h in hi])
    eye = np.eye(m)
    weights = np.zeros((n, m))
    scores = np.zeros(n)
    for c in range(n):
        y = Y[c]
        rows = [Y]
        rhs = [np.ones(n)]
        if restricted:
            base = y if bound_type == "share" else np.ones(m)
            # lo_j Σ_k w_k base_k - w_j base_j <= 0 and w_j base_j - hi_j Σ_k w_k base_k <= 0
            rows.append(np.outer(lo, base) - eye * base)
            rows.append(eye * base - np.outer(hi_arr, base))
            rhs.append(np.zeros(2 * m))
        res = linprog(
            -y,
            A_ub=np.vstack(rows),
            b_ub=np.concatenate(rhs),
            bounds=var_bounds,
            method="highs",
        )
        if res.status != 0:
            raise RuntimeError(f"bod: the LP for unit {M.index[c]!r} failed: {res.message}")
        weights[c] = res.x
        scores[c] = -res.fun
    contrib = weights * Y
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(scores[:, None] > 1e-12, contrib / scores[:, None], np.nan)
    return BodResult(
        scores=pd.Series(scores, index=M.index, name="score"),
        weights=pd.DataFrame(weights, index=M.index, columns=M.columns),
        shares=pd.DataFrame(shares, index=M.index, columns=M.columns),
        bound_type=bound_type if bounds is not None else "none",
        bounds=spec,
    )


def correlation_ratio(x, y, *, max_groups: int = 4, min_smooth: int = 20) -> tuple[float, str]:
    """Correlation ratio η² = V[E(y | x)] / V(y), the first-order sensitivity index of y to x.

    Parameters
    ----------
    x, y : array-like
        Paired observations (pairs with a NaN in either are left out by the caller).
    max_groups : int
        If x takes at most this many distinct values it is treated as discrete and E(y | x) is the
        mean of y at each value (the classical correlation ratio of Pearson 1903; it is biased
        upwards by about (groups - 1) / n); otherwise E(y | x) is estimated by a penalised spline.
    min_smooth : int
        Fewest pairs for the spline. With fewer, a smoother cannot tell curvature from noise
        (it would chase the points), so the linear estimate Pearson r² is returned.

    Returns
    -------
    (float, str)
        η² in [0, 1] (NaN if y is constant or fewer than 3 pairs) and the estimator used:
        ``"constant x"``, ``"group means"``, ``"linear r² (n < min_smooth)"`` or
        ``"P-spline (GCV)"``.

    Notes
    -----
    The P-spline (Eilers & Marx 1996) is a cubic B-spline regression on x rescaled to [0, 1],
    with ``clip(distinct values // 4, 4, 20)`` equal segments and a second-order difference
    penalty λ‖D₂β‖²; λ is chosen on a fixed grid 10^-6 … 10^8 (57 values) by generalised
    cross-validation, GCV(λ) = n·RSS / (n − tr H)². As λ → ∞ the fit becomes the least-squares
    line, so a linear relation gives η² = Pearson r² and the estimator only departs from r² when
    the data show curvature. η² = Var(fitted) / Var(y), clipped to [0, 1]. Deterministic.

    References
    ----------
    Eilers, P. H. C., & Marx, B. D. (1996). Flexible smoothing with B-splines and penalties.
    *Statistical Science*, 11(2), 89–121.
    """
    from scipy.interpolate import BSpline

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    if n < 3 or np.ptp(y) <= 1e-12 * max(1.0, np.abs(y).max()):
        return np.nan, "undefined"
    distinct, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    if len(distinct) < 2:
        return 0.0, "constant x"
    vy = y.var()
    if len(distinct) <= max_groups:
        means = np.bincount(inverse, weights=y) / counts
        return float(np.clip((counts * (means - y.mean()) ** 2).sum() / n / vy, 0, 1)), \
            "group means"
    if n < min_smooth:
        return float(np.corrcoef(x, y)[0, 1] ** 2), f"linear r² (n < {min_smooth})"
    s = (x - distinct[0]) / (distinct[-1] - distinct[0])
    nseg, deg = int(np.clip(len(distinct) // 4, 4, 20)), 3
    knots = np.arange(-deg, nseg + deg + 1) / nseg
    B = BSpline.design_matrix(s, knots, deg).toarray()
    D = np.diff(np.eye(B.shape[1]), 2, axis=0)
    rhs = np.concatenate([y, np.zeros(len(D))])
    best = (np.inf, None)
    for lam in 10.0 ** np.linspace(-6, 8, 57):
        Q, R = np.linalg.qr(np.vstack([B, np.sqrt(lam) * D]))
        fitted = B @ np.linalg.solve(R, Q.T @ rhs)
        trace = (Q[:n] ** 2).sum()  # tr H: the hat matrix is Q1 Q1'
        if n - trace <= 0.5:  # (nearly) interpolating: GCV is undefined
            continue
        gcv = n * ((y - fitted) ** 2).sum() / (n - trace) ** 2
        if gcv < best[0] - 1e-15 * abs(best[0]) or best[1] is None:
            best = (gcv, fitted)
    return float(np.clip(best[1].var() / vy, 0.0, 1.0)), "P-spline (GCV)"
