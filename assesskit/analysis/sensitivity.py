"""Variance-based sensitivity analysis (基于方差的敏感性分析): Sobol' indices of a scheme's outputs.

A scheme has design choices a policy researcher is unsure about: the normalisation rule, the
weights, the quota of units praised per group. Treat each choice as a random *factor*; run the
scheme many times with the factors drawn at random; then split the variance of each output (a
unit's score or rank, the mean absolute rank shift, ...) into the shares due to each factor.

The work is done in three separate steps, as in SALib:

1. :func:`sample` draws a :class:`SampleDesign` from a list of :class:`Factor` definitions (plain data:
   see :func:`uniform`, :func:`normal`, :func:`choice` and :func:`factors_from_spec`).
2. The model is run once per row of ``design.runs()`` (decoded parameters, one dict per run;
   :func:`evaluate_model` does this for a Python callable) or of ``design.matrix()`` (numbers).
3. :func:`analyse` estimates first-order and total Sobol' indices of every output at once, with
   bootstrap confidence intervals, and returns a tidy DataFrame.

Sample design layout
-------------
Two independent ``n x k`` matrices ``A`` and ``B`` are drawn (``n`` base rows, ``k`` factors).
``AB_i`` is ``A`` with column ``i`` taken from ``B``. The model is evaluated on the stacked matrix
``[A; B; AB_1; ...; AB_k]`` (``n (k + 2)`` runs, in that block order: run ``r`` belongs to block
``r // n`` and base row ``r % n``). SALib interleaves the same rows per base row instead
(``A_j, AB_1j, ..., AB_kj, B_j``); the estimators are identical.

Factor groups
-------------
Factors can be put in named *groups* (``sample(..., groups=...)``): the pick-freeze blocks then
switch every column of a group at once (``AB_g`` is ``A`` with the columns of group ``g`` from
``B``), there are ``n (g + 2)`` runs for ``g`` groups, and :func:`analyse` returns one first-order
and one total index per group: the share of variance due to the group's factors jointly
(Jacques, Lavergne and Devictor 2006). A scheme's weights are one such group: sixty weight
multipliers are one design choice ("the weights"), not sixty factors.

Discrete factors are first-class: a :func:`choice` factor is sampled directly as an index into
its options, drawn with the options' probabilities (the exact inverse CDF of the categorical
distribution applied to a uniform draw), never by rounding a continuous parameter. The
pick-freeze estimators only need ``f(A)``, ``f(B)`` and ``f(AB_i)`` and the independence of the
factors, so they are valid for categorical factors without change.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.stats import qmc

from ..errors import DataError, Problem, SchemeError

FACTOR_KINDS = ("uniform", "normal", "choice")
"""Kinds of factor :class:`Factor` understands."""

SAMPLERS = ("random", "sobol")
"""Sampling methods of :func:`sample`."""

CI_METHODS = ("percentile", "normal")
"""Bootstrap confidence-interval methods of :func:`analyse`."""

RESERVED_NAMES = ("run", "block", "switched", "base_row")
"""Column names of :meth:`SampleDesign.runs` that a factor may not take."""

CONSTANT_RTOL = 1e-12
"""An output whose A∪B standard deviation is at most this fraction of its largest absolute value
is treated as constant (its indices are 0): this absorbs floating-point rounding noise."""

READABLE_WIDTH = 0.3
"""Widest confidence interval of a Sobol' index (a share of variance) that :func:`readability`
accepts: an index known only to within 30 percentage points cannot rank the factors."""

READABLE_SLACK = 0.05
"""How far an estimate may stray outside [0, 1] by sampling error before :func:`readability`
flags it (a share of variance cannot be negative or above 1; the estimators are not clipped)."""

_KIND_FIELDS = {"uniform": ("lo", "hi"), "normal": ("mean", "sd"), "choice": ("options", "probs")}
_ALL_FIELDS = ("lo", "hi", "mean", "sd", "options", "probs")
_PROBS_ATOL = 1e-9
_CHUNK_FLOATS = 2**23  # about 64 MB of float64 per temporary array in analyse()


# --------------------------------------------------------------------------------------- factors


@dataclass(frozen=True)
class Factor:
    """One uncertain input of a sensitivity analysis, as plain data.

    Build factors with :func:`uniform`, :func:`normal` and :func:`choice`, or from plain dicts
    (a YAML list) with :func:`factors_from_spec`. Only the fields of the factor's ``kind`` may be
    set; the others stay ``None``.

    Parameters
    ----------
    name : str
        Factor name, e.g. ``"normalisation"`` or ``"weight_economy"``.
    kind : {"uniform", "normal", "choice"}
        Distribution of the factor.
    lo, hi : float, optional
        Bounds of a ``uniform`` factor, ``lo < hi``.
    mean, sd : float, optional
        Mean and standard deviation (> 0) of a ``normal`` factor.
    options : sequence, optional
        The options of a ``choice`` (discrete) factor: arbitrary, distinct labels such as
        ``("minmax", "zscore", "rank")`` or quota sizes ``(1, 2, 3)``.
    probs : sequence of float, optional
        Probability of each option of a ``choice`` factor (non-negative, summing to 1).
        ``None`` means equally likely.

    Raises
    ------
    SchemeError
        If the definition is inconsistent; the message lists every problem of the factor.

    Examples
    --------
    >>> Factor("quota", "choice", options=(1, 2, 3)).discrete
    True
    """

    name: str
    kind: str
    lo: float | None = None
    hi: float | None = None
    mean: float | None = None
    sd: float | None = None
    options: tuple | None = None
    probs: tuple[float, ...] | None = None

    def __post_init__(self):
        # Normalise containers to tuples (the dataclass is frozen, hence object.__setattr__).
        if self.options is not None and not isinstance(self.options, str | bytes | Mapping):
            if not isinstance(self.options, tuple) and isinstance(self.options, Iterable):
                object.__setattr__(self, "options", tuple(self.options))
        if isinstance(self.probs, Iterable) and not isinstance(self.probs, str | bytes | Mapping):
            object.__setattr__(self, "probs", tuple(self.probs))
        problems = self._problems()
        if problems:
            err = SchemeError(
                f"factor {self.name!r} is not valid: " + "; ".join(problems),
                key=f"factors.{self.name}",
            )
            err.problems = problems  # for factors_from_spec, which lists every factor's problems
            raise err

    # -- validation -------------------------------------------------------------------------
    def _problems(self) -> list[str]:
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(f"name must be a non-empty string, got {self.name!r}")
        if self.kind not in FACTOR_KINDS:
            problems.append(f"kind {self.kind!r} is unknown; use one of {list(FACTOR_KINDS)}")
            return problems
        wanted = _KIND_FIELDS[self.kind]
        for fld in _ALL_FIELDS:
            if fld not in wanted and getattr(self, fld) is not None:
                problems.append(
                    f"field {fld!r} does not apply to a {self.kind} factor (it takes "
                    f"{' and '.join(wanted)}); remove it"
                )
        if self.kind == "uniform":
            lo, hi = self.lo, self.hi
            ok = True
            for fld, v in (("lo", lo), ("hi", hi)):
                if not _is_real(v):
                    problems.append(f"{fld} must be a finite number, got {v!r}")
                    ok = False
            if ok and not lo < hi:
                problems.append(f"lo ({lo!r}) must be smaller than hi ({hi!r})")
        elif self.kind == "normal":
            if not _is_real(self.mean):
                problems.append(f"mean must be a finite number, got {self.mean!r}")
            if not _is_real(self.sd) or not self.sd > 0:
                problems.append(f"sd must be a finite number > 0, got {self.sd!r}")
        else:
            problems.extend(self._choice_problems())
        return problems

    def _choice_problems(self) -> list[str]:
        problems = []
        opts = self.options
        if not isinstance(opts, tuple) or len(opts) == 0:
            problems.append(
                f"options must be a non-empty list of labels, got {opts!r} "
                "(e.g. options: [minmax, zscore, rank])"
            )
            return problems
        dups = [o for i, o in enumerate(opts) if any(_same(o, p) for p in opts[:i])]
        if dups:
            problems.append(f"options must be distinct; repeated: {dups!r}")
        if self.probs is None:
            return problems
        probs = self.probs
        if not isinstance(probs, tuple) or not all(_is_real(p) for p in probs):
            problems.append(f"probs must be a list of finite numbers, got {probs!r}")
        elif len(probs) != len(opts):
            problems.append(
                f"probs has {len(probs)} entries but there are {len(opts)} options; give one "
                "probability per option"
            )
        elif any(p < 0 for p in probs):
            problems.append(f"probs must be >= 0, got {list(probs)!r}")
        elif abs(math.fsum(probs) - 1.0) > _PROBS_ATOL:
            problems.append(f"probs must sum to 1, they sum to {math.fsum(probs)!r}")
        return problems

    # -- properties ---------------------------------------------------------------------------
    @property
    def discrete(self) -> bool:
        """Whether the factor is discrete (a ``choice``)."""
        return self.kind == "choice"

    @property
    def option_probs(self) -> np.ndarray:
        """Probability of each option of a ``choice`` factor (equal if ``probs`` is None)."""
        if not self.discrete:
            raise TypeError(f"factor {self.name!r} is {self.kind}, not a choice")
        if self.probs is None:
            return np.full(len(self.options), 1.0 / len(self.options))
        return np.asarray(self.probs, dtype=float)

    def to_dict(self) -> dict:
        """The factor as plain data (the form :func:`factors_from_spec` reads back).

        Returns
        -------
        dict
            ``name``, ``kind`` and the fields of that kind (``options``/``probs`` as lists).
        """
        out = {"name": self.name, "kind": self.kind}
        for fld in _KIND_FIELDS[self.kind]:
            value = getattr(self, fld)
            if value is None:
                continue
            out[fld] = list(value) if isinstance(value, tuple) else value
        return out

    # -- sampling -----------------------------------------------------------------------------
    def from_unit(self, u) -> np.ndarray:
        """Map uniform draws on [0, 1) to factor values by the inverse CDF.

        Parameters
        ----------
        u : array-like of float
            Draws in [0, 1).

        Returns
        -------
        ndarray of float
            Factor values; for a ``choice`` factor the option *index* (0, 1, ...) as a float.

        Notes
        -----
        ``uniform``: ``lo + u (hi - lo)``. ``normal``: ``mean + sd * Phi^-1(u)`` (``u = 0``, which
        has probability 2^-53, is moved to 2^-53 so the value stays finite). ``choice`` with
        cumulative probabilities ``c_0 <= c_1 <= ... <= c_{K-1} = 1``: option ``j`` is drawn when
        ``c_{j-1} <= u < c_j`` (``c_{-1} = 0``), the exact inverse CDF of the categorical
        distribution; an option of probability 0 is never drawn.

        Examples
        --------
        >>> f = choice("method", ["minmax", "zscore", "rank"], probs=[0.5, 0.3, 0.2])
        >>> f.from_unit([0.0, 0.49, 0.5, 0.79, 0.8, 0.99]).tolist()
        [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]
        """
        u = np.asarray(u, dtype=float)
        if self.kind == "uniform":
            return self.lo + u * (self.hi - self.lo)
        if self.kind == "normal":
            return self.mean + self.sd * special.ndtri(np.maximum(u, 2.0**-53))
        cum = np.cumsum(self.option_probs)
        cum /= cum[-1]  # probs sum to 1 within 1e-9; make the last edge exactly 1
        idx = np.searchsorted(cum, u, side="right")
        return np.minimum(idx, len(self.options) - 1).astype(float)

    def decode(self, values) -> pd.Series:
        """Factor values as a person reads them: option labels for a ``choice`` factor.

        Parameters
        ----------
        values : array-like of float
            Values as held in a design matrix (option indices for a ``choice`` factor).

        Returns
        -------
        pandas.Series
            The values (continuous) or option labels (discrete), with the dtype pandas infers.
        """
        values = np.asarray(values, dtype=float)
        if not self.discrete:
            return pd.Series(values, name=self.name)
        labels = np.empty(len(self.options), dtype=object)
        for i, option in enumerate(self.options):  # element-wise: options may be lists or dicts
            labels[i] = option
        return pd.Series(labels[values.astype(np.intp)], name=self.name).infer_objects()

    def _value_problems(self, values: np.ndarray, where: str) -> list[Problem]:
        """Values in a given design matrix column that this factor cannot take."""
        bad = ~np.isfinite(values)
        why = "must be a finite number"
        if self.discrete:
            bad |= (values < 0) | (values >= len(self.options)) | (values != np.round(values))
            why = f"must be an option index 0..{len(self.options) - 1}"
        elif self.kind == "uniform":
            bad |= (values < self.lo) | (values > self.hi)
            why = f"must lie in [{self.lo}, {self.hi}]"
        return [
            Problem(f"base row {i}: {why}", file=where, column=self.name, value=float(values[i]))
            for i in np.flatnonzero(bad)
        ]


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def uniform(name: str, lo: float, hi: float) -> Factor:
    """A continuous factor uniform on ``[lo, hi]``.

    Parameters
    ----------
    name : str
        Factor name.
    lo, hi : float
        Bounds, ``lo < hi``.

    Returns
    -------
    Factor

    Raises
    ------
    SchemeError
        If the bounds are not finite numbers with ``lo < hi``.

    Examples
    --------
    >>> uniform("weight_economy", 0.2, 0.4).to_dict()
    {'name': 'weight_economy', 'kind': 'uniform', 'lo': 0.2, 'hi': 0.4}
    """
    return Factor(name, "uniform", lo=lo, hi=hi)


def normal(name: str, mean: float, sd: float) -> Factor:
    """A continuous factor normally distributed with ``mean`` and standard deviation ``sd``.

    Parameters
    ----------
    name : str
        Factor name.
    mean : float
        Mean.
    sd : float
        Standard deviation, > 0.

    Returns
    -------
    Factor

    Raises
    ------
    SchemeError
        If ``mean`` is not finite or ``sd`` is not a finite positive number.

    Examples
    --------
    >>> normal("noise", 0.0, 2.0).kind
    'normal'
    """
    return Factor(name, "normal", mean=mean, sd=sd)


def choice(name: str, options, probs=None) -> Factor:
    """A discrete factor taking one of ``options`` (arbitrary labels) with given probabilities.

    Parameters
    ----------
    name : str
        Factor name.
    options : sequence
        Distinct labels, e.g. ``["minmax", "zscore", "rank"]`` or quota sizes ``[1, 2, 3]``.
    probs : sequence of float, optional
        Probability of each option (non-negative, summing to 1); equally likely if omitted.

    Returns
    -------
    Factor

    Raises
    ------
    SchemeError
        If the options are empty or repeated, or the probabilities are malformed.

    Examples
    --------
    >>> choice("praise_quota", [1, 2, 3]).option_probs.round(3).tolist()
    [0.333, 0.333, 0.333]
    """
    return Factor(name, "choice", options=options, probs=probs)


def factors_from_spec(spec) -> tuple[Factor, ...]:
    """Factor definitions from plain data (e.g. read from YAML).

    Parameters
    ----------
    spec : list of (dict or Factor), or dict of name -> dict
        Each dict has ``name`` (unless given as the mapping key), ``kind`` and the fields of
        that kind (see :class:`Factor`).

    Returns
    -------
    tuple of Factor

    Raises
    ------
    SchemeError
        Listing every problem of every factor (unknown keys, bad values, repeated or reserved
        names), with the key of each.

    Examples
    --------
    >>> fs = factors_from_spec([
    ...     {"name": "method", "kind": "choice", "options": ["minmax", "rank"]},
    ...     {"name": "w", "kind": "uniform", "lo": 0.0, "hi": 1.0},
    ... ])
    >>> [f.name for f in fs]
    ['method', 'w']
    """
    if isinstance(spec, Factor):
        spec = [spec]
    if isinstance(spec, Mapping):
        items = []
        for key, value in spec.items():
            if isinstance(value, Mapping) and "name" not in value:
                value = {"name": key, **value}
            items.append(value)
    elif isinstance(spec, Iterable) and not isinstance(spec, str | bytes):
        items = list(spec)
    else:
        raise SchemeError(
            f"factors must be a list of factor definitions, got {type(spec).__name__}",
            key="factors",
        )
    problems: list[str] = []
    factors: list[Factor] = []
    for pos, item in enumerate(items):
        if isinstance(item, Factor):
            factors.append(item)
            continue
        label = f"factors[{pos}]"
        if not isinstance(item, Mapping):
            problems.append(f"{label}: must be a mapping with name and kind, got {item!r}")
            continue
        label = f"factors.{item['name']}" if "name" in item else f"factors[{pos}]"
        unknown = sorted(set(item) - {"name", "kind", *_ALL_FIELDS}, key=str)
        missing = [k for k in ("name", "kind") if k not in item]
        if unknown:
            problems.append(
                f"{label}: unknown key(s) {unknown}; allowed: name, kind, {', '.join(_ALL_FIELDS)}"
            )
        if missing:
            problems.append(f"{label}: missing key(s) {missing}")
        if unknown or missing:
            continue
        try:
            factors.append(Factor(**dict(item)))
        except SchemeError as err:
            problems.extend(f"{label}: {p}" for p in getattr(err, "problems", [str(err)]))
    # Names of every definition, valid or not, so a repeated name is reported in the same pass.
    names = [item.name if isinstance(item, Factor) else item.get("name")
             for item in items if isinstance(item, Factor | Mapping)]
    problems.extend(_name_problems([name for name in names if isinstance(name, str)]))
    if not items:
        problems.append("factors: the list is empty; define at least one factor")
    if problems:
        raise SchemeError(
            f"{len(problems)} problem(s) in the factor definitions:\n  - "
            + "\n  - ".join(problems),
            key="factors",
        )
    return tuple(factors)


def _name_problems(names: list[str]) -> list[str]:
    problems = []
    counts = pd.Series(names, dtype=object).value_counts(sort=False)
    for name in counts[counts > 1].index:
        problems.append(f"factors.{name}: the name is used by {counts[name]} factors")
    for name in dict.fromkeys(names):
        if name in RESERVED_NAMES:
            problems.append(
                f"factors.{name}: {name!r} is reserved for a column of SampleDesign.runs(); "
                "rename the factor"
            )
    return problems


# ---------------------------------------------------------------------------------------- design


@dataclass(frozen=True, eq=False)
class SampleDesign:
    """A pick-freeze (Saltelli) sampling design: base matrices ``A`` and ``B`` and their factors.

    Usually made by :func:`sample`; build one directly to analyse matrices drawn elsewhere
    (e.g. by SALib).

    Parameters
    ----------
    factors : sequence of Factor (or plain dicts, see :func:`factors_from_spec`)
        The ``k`` factors, in column order.
    A, B : array-like, shape (n, k)
        Independent draws of the factors, one row per base sample. A ``choice`` factor's column
        holds option indices (0, 1, ...).
    seed : int, optional
        Seed the matrices were drawn with (``None`` if they were given).
    sampler : str
        How they were drawn: ``"random"``, ``"sobol"`` or ``"given"``.
    groups : sequence of str, optional
        Group name of each factor (same length as ``factors``); factors sharing a name are
        switched together and get one pair of indices. ``None``: every factor is its own group,
        named after the factor.

    Raises
    ------
    SchemeError
        If the factor definitions or the groups are invalid.
    DataError
        If ``A`` or ``B`` has the wrong shape or holds values a factor cannot take (every bad
        cell is listed).

    Notes
    -----
    The runs are ``[A; B; AB_1; ...; AB_g]`` where ``AB_j`` is ``A`` with the columns of group
    ``j`` from ``B`` (column ``j`` when ungrouped): ``n (g + 2)`` runs; run ``r`` belongs to
    block ``r // n``, base row ``r % n``.
    """

    factors: tuple[Factor, ...]
    A: np.ndarray
    B: np.ndarray
    seed: int | None = None
    sampler: str = "given"
    groups: tuple[str, ...] | None = None

    def __post_init__(self):
        factors = _check_factors(self.factors)
        object.__setattr__(self, "factors", factors)
        object.__setattr__(self, "groups", _check_groups(self.groups, factors))
        k = len(factors)
        problems = []
        mats = {}
        for label in ("A", "B"):
            try:
                mat = np.array(getattr(self, label), dtype=float)
            except (TypeError, ValueError) as err:
                raise DataError(
                    Problem(f"must be a numeric matrix: {err}", file=f"design matrix {label}")
                ) from None
            if mat.ndim != 2 or mat.shape[1] != k or mat.shape[0] < 2:
                problems.append(Problem(
                    f"has shape {mat.shape}; expected (n, {k}) with n >= 2 base rows and one "
                    f"column per factor ({', '.join(f.name for f in factors)})",
                    file=f"design matrix {label}",
                ))
            mats[label] = mat
        if not problems and mats["A"].shape != mats["B"].shape:
            problems.append(Problem(
                f"A has shape {mats['A'].shape} but B has {mats['B'].shape}; they must match",
                file="design matrices",
            ))
        if problems:
            raise DataError(problems, title="The design matrices are malformed")
        for label, mat in mats.items():
            for j, f in enumerate(factors):
                problems.extend(f._value_problems(mat[:, j], f"design matrix {label}"))
            mat.setflags(write=False)  # a design is a record: keep it immutable
            object.__setattr__(self, label, mat)
        if problems:
            raise DataError(problems, title="The design matrices hold impossible factor values")
        if self.sampler not in (*SAMPLERS, "given"):
            raise ValueError(f"sampler {self.sampler!r} is unknown; use one of {SAMPLERS}")

    @property
    def names(self) -> list[str]:
        """Factor names, in column order."""
        return [f.name for f in self.factors]

    @property
    def n(self) -> int:
        """Number of base rows."""
        return self.A.shape[0]

    @property
    def k(self) -> int:
        """Number of factors (columns of ``A`` and ``B``)."""
        return len(self.factors)

    @property
    def group_names(self) -> list[str]:
        """Names of the groups in order of first appearance (the factor names if ungrouped)."""
        if self.groups is None:
            return self.names
        return list(dict.fromkeys(self.groups))

    @property
    def n_groups(self) -> int:
        """Number of groups ``g`` (``k`` when ungrouped): the number of ``AB`` blocks."""
        return len(self.group_names)

    @property
    def n_runs(self) -> int:
        """Number of model runs, ``n (g + 2)``."""
        return self.n * (self.n_groups + 2)

    def _group_columns(self) -> list[np.ndarray]:
        """Column indices of each group, in :attr:`group_names` order."""
        if self.groups is None:
            return [np.array([j]) for j in range(self.k)]
        labels = np.array(self.groups, dtype=object)
        return [np.flatnonzero(labels == g) for g in self.group_names]

    def matrix(self) -> np.ndarray:
        """Factor values of every run, stacked ``[A; B; AB_1; ...; AB_g]``.

        Returns
        -------
        ndarray, shape (n (g + 2), k)
            One row per run, one column per factor (option indices for ``choice`` factors).

        Examples
        --------
        >>> d = SampleDesign([uniform("x", 0, 1), choice("c", ["a", "b"])], A=[[0.1, 0], [0.2, 1]],
        ...            B=[[0.7, 1], [0.8, 0]])
        >>> d.matrix().tolist()  # doctest: +NORMALIZE_WHITESPACE
        [[0.1, 0.0], [0.2, 1.0], [0.7, 1.0], [0.8, 0.0],
         [0.7, 0.0], [0.8, 1.0], [0.1, 1.0], [0.2, 0.0]]
        """
        n, k, g = self.n, self.k, self.n_groups
        ab = np.broadcast_to(self.A, (g, n, k)).copy()
        for block, cols in enumerate(self._group_columns()):
            ab[block][:, cols] = self.B[:, cols]  # AB_j[:, group j] = B[:, group j]
        return np.concatenate([self.A, self.B, ab.reshape(g * n, k)])

    def runs(self) -> pd.DataFrame:
        """Decoded parameters of every run: what to feed the model, one row per run.

        Returns
        -------
        pandas.DataFrame
            Index ``run`` (0 .. n (g + 2) - 1, the row order :func:`analyse` expects); columns
            ``block`` (``"A"``, ``"B"`` or ``"AB"``), ``switched`` (for ``AB`` runs the factor, or
            group, whose value comes from ``B``, else ``""``), ``base_row``, then one column per
            factor holding its value (continuous) or option label (discrete).
        """
        n, g = self.n, self.n_groups
        x = self.matrix()
        columns = {
            "block": np.repeat(np.array(["A", "B"] + ["AB"] * g), n),
            "switched": np.repeat(np.array(["", ""] + self.group_names), n),
            "base_row": np.tile(np.arange(n), g + 2),
        }
        for j, f in enumerate(self.factors):
            columns[f.name] = f.decode(x[:, j]).to_numpy()
        frame = pd.DataFrame(columns, index=pd.RangeIndex(self.n_runs, name="run"))
        for f in self.factors:
            frame[f.name] = frame[f.name].infer_objects()
        return frame

    def spec(self) -> dict:
        """The design's recipe as plain data: factors, n, seed and sampler.

        Returns
        -------
        dict
            ``factors`` (list of :meth:`Factor.to_dict`), ``n``, ``seed``, ``sampler``,
            ``groups`` (list, or ``None`` when ungrouped) and ``layout``.
            ``sample(spec["factors"], spec["n"], seed=spec["seed"], sampler=spec["sampler"],
            groups=spec["groups"])`` rebuilds the same design.
        """
        return {
            "factors": [f.to_dict() for f in self.factors],
            "n": self.n,
            "seed": self.seed,
            "sampler": self.sampler,
            "groups": None if self.groups is None else list(self.groups),
            "layout": ("A, B, AB_1, ..., AB_k (blocks of n runs)" if self.groups is None else
                       "A, B, AB_1, ..., AB_g (blocks of n runs; AB_j switches group j)"),
        }


def _check_factors(factors) -> tuple[Factor, ...]:
    if isinstance(factors, tuple) and factors and all(isinstance(f, Factor) for f in factors):
        problems = _name_problems([f.name for f in factors])
        if problems:
            raise SchemeError(
                f"{len(problems)} problem(s) in the factor definitions:\n  - "
                + "\n  - ".join(problems),
                key="factors",
            )
        return factors
    return factors_from_spec(factors)


def _check_groups(groups, factors: tuple[Factor, ...]) -> tuple[str, ...] | None:
    """Validate group names (one per factor) and return them as a tuple."""
    if groups is None:
        return None
    if isinstance(groups, str | bytes) or not isinstance(groups, Iterable):
        raise SchemeError(
            f"groups must be a list of group names, one per factor, got {groups!r}", key="groups")
    groups = tuple(groups)
    problems = []
    if len(groups) != len(factors):
        problems.append(f"{len(groups)} group names were given for {len(factors)} factors; "
                        "give one group name per factor")
    bad = [g for g in groups if not isinstance(g, str) or not g.strip()]
    if bad:
        problems.append(f"group names must be non-empty strings, got {bad!r}")
    if not problems:
        for name in dict.fromkeys(groups):
            if name in RESERVED_NAMES:
                problems.append(f"group name {name!r} is reserved for a column of SampleDesign.runs()")
            members = {f.name for f, g in zip(factors, groups, strict=True) if g == name}
            if name in {f.name for f in factors} - members:
                problems.append(f"group name {name!r} is also the name of a factor outside the "
                                "group; rename one of them")
    if problems:
        raise SchemeError("the factor groups are not valid: " + "; ".join(problems), key="groups")
    return groups


def sample(factors, n: int, *, seed: int, sampler: str = "random", groups=None) -> SampleDesign:
    """Draw a pick-freeze design for first-order and total Sobol' indices.

    Parameters
    ----------
    factors : sequence of Factor or plain dicts
        The factors (see :func:`factors_from_spec`).
    n : int
        Number of base rows (>= 2). The model is run ``n (k + 2)`` times (``n (g + 2)`` with
        ``g`` groups).
    seed : int
        Seed of ``numpy.random.default_rng``; recorded in the design.
    sampler : {"random", "sobol"}
        ``"random"``: independent uniform draws (plain Monte Carlo). ``"sobol"``: a scrambled
        Sobol' sequence in ``2k`` dimensions (``scipy.stats.qmc.Sobol``, first ``k`` columns
        for ``A``, last ``k`` for ``B``, as SALib does); ``n`` must then be a power of 2.
    groups : sequence of str, optional
        Group name of each factor; factors sharing a name are switched together (see
        :class:`SampleDesign`). The draws of ``A`` and ``B`` do not depend on the grouping.

    Returns
    -------
    SampleDesign

    Raises
    ------
    SchemeError
        If the factor definitions are invalid.
    ValueError
        If ``n``, ``seed`` or ``sampler`` is invalid.

    Notes
    -----
    Each row of ``A`` and ``B`` is ``2k`` uniform draws ``u`` mapped through each factor's
    inverse CDF (:meth:`Factor.from_unit`), so discrete factors are drawn exactly with their
    option probabilities. Plain Monte Carlo is the default because the bootstrap confidence
    intervals of :func:`analyse` assume independent base rows; with ``"sobol"`` the point
    estimates converge faster but the bootstrap intervals are only indicative.

    Examples
    --------
    >>> d = sample([uniform("w", 0, 1), choice("method", ["minmax", "rank"])], 4, seed=1)
    >>> d.n, d.k, d.n_runs
    (4, 2, 16)
    """
    factors = _check_factors(factors)
    _check_groups(groups, factors)
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (number of base rows), got {n!r}")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    n, seed = int(n), int(seed)
    k = len(factors)
    rng = np.random.default_rng(seed)
    if sampler == "random":
        u = rng.random((n, 2 * k))
    elif sampler == "sobol":
        if n & (n - 1):
            raise ValueError(
                f"the Sobol' sampler needs n to be a power of 2 to keep its balance; got "
                f"n={n}, use n={1 << (n - 1).bit_length()} or sampler='random'"
            )
        u = qmc.Sobol(d=2 * k, scramble=True, rng=rng).random(n)
    else:
        raise ValueError(f"sampler {sampler!r} is unknown; use one of {SAMPLERS}")
    a = np.column_stack([f.from_unit(u[:, j]) for j, f in enumerate(factors)])
    b = np.column_stack([f.from_unit(u[:, k + j]) for j, f in enumerate(factors)])
    return SampleDesign(factors, a, b, seed=seed, sampler=sampler, groups=groups)


# ------------------------------------------------------------------------------------ evaluation


def evaluate_model(design: SampleDesign, model: Callable[[dict], object], *, unique: bool = True):
    """Run a model on every run of a design and stack its outputs in run order.

    Parameters
    ----------
    design : SampleDesign
        The design.
    model : callable
        ``model(params) -> output`` where ``params`` maps factor name to value (option label for
        a ``choice`` factor). The output is a number, a 1-D array, a dict or a pandas Series
        (e.g. one outcome per unit, labelled by unit); every run must return the same labels.
        The model must be a deterministic function of ``params``.
    unique : bool
        Evaluate each distinct parameter combination once and reuse the result (designs with
        discrete factors repeat combinations often).

    Returns
    -------
    pandas.DataFrame
        Index ``run`` (as :meth:`SampleDesign.runs`), one column per output (``"y"`` for a scalar,
        the labels of a dict or Series, 0..m-1 for an array). Pass it to :func:`analyse`.

    Raises
    ------
    DataError
        If runs return different numbers or labels of outputs (every such run is listed).
        An exception raised by the model propagates with a note giving the parameters.

    Examples
    --------
    >>> d = sample([choice("c", [0, 1, 2]), uniform("x", 0, 1)], 8, seed=3)
    >>> y = evaluate_model(d, lambda p: p["c"] + p["x"])
    >>> y.shape
    (32, 1)
    """
    x = design.matrix()
    if unique:
        rows, inverse = np.unique(x, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    else:
        rows, inverse = x, np.arange(len(x))
    decoded = [f.decode(rows[:, j]).tolist() for j, f in enumerate(design.factors)]
    first_run = np.zeros(len(rows), dtype=np.intp)
    first_run[inverse[::-1]] = np.arange(len(x))[::-1]  # a run number for messages
    labels = None
    outputs, problems = [], []
    for i, values in enumerate(zip(*decoded, strict=True)):
        params = dict(zip(design.names, values, strict=True))
        try:
            out = model(params)
        except Exception as err:
            err.add_note(f"while evaluating the model at run {first_run[i]} with {params!r}")
            raise
        these, vals = _output_labels(out)
        if labels is None:
            labels = these
        elif these != labels:
            if len(these) == len(labels) and set(map(repr, these)) == set(map(repr, labels)):
                order = {repr(lab): p for p, lab in enumerate(these)}
                vals = vals[[order[repr(lab)] for lab in labels]]
            else:
                problems.append(Problem(
                    f"run {first_run[i]} ({params!r}) returned outputs {these[:5]!r}"
                    f"{'...' if len(these) > 5 else ''} but the first run returned "
                    f"{labels[:5]!r}{'...' if len(labels) > 5 else ''}; every run must return "
                    "the same outputs",
                    file="model outputs",
                ))
                continue
        outputs.append(vals)
    if problems:
        raise DataError(problems, title="The model returned inconsistent outputs")
    y = np.vstack(outputs)[inverse]
    return pd.DataFrame(y, index=pd.RangeIndex(len(x), name="run"), columns=pd.Index(labels))


def _output_labels(out) -> tuple[list, np.ndarray]:
    if isinstance(out, pd.Series):
        return list(out.index), out.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(out, Mapping):
        return list(out.keys()), np.asarray(list(out.values()), dtype=float)
    arr = np.asarray(out, dtype=float)
    if arr.ndim == 0:
        return ["y"], arr.reshape(1)
    if arr.ndim != 1:
        raise DataError(Problem(
            f"the model returned an array of shape {arr.shape}; return a number, a 1-D array, "
            "a dict or a Series", file="model outputs",
        ))
    return list(range(arr.size)), arr


# -------------------------------------------------------------------------------------- analysis


def analyse(
    design: SampleDesign,
    Y,
    output_names=None,
    *,
    n_boot: int = 1000,
    conf: float = 0.95,
    ci: str = "percentile",
    seed: int | None = None,
) -> pd.DataFrame:
    """First-order and total Sobol' indices of every output, with bootstrap intervals.

    Parameters
    ----------
    design : SampleDesign
        The design the model was run on.
    Y : array-like, Series or DataFrame, shape (n (g + 2),) or (n (g + 2), m)
        Model outputs in run order (as :meth:`SampleDesign.runs` / :meth:`Design.matrix`), one column
        per output (e.g. one per unit, plus the mean absolute rank shift). A pandas ``Y`` must
        be indexed by the run numbers 0 .. n (g + 2) - 1 in order (``g`` = number of groups,
        ``k`` when the factors are ungrouped).
    output_names : sequence, optional
        Output labels; default the DataFrame columns / Series name, else ``"y"`` (1-D) or
        0 .. m-1.
    n_boot : int
        Bootstrap resamples (0 for none: the interval columns are then NaN).
    conf : float
        Confidence level of the intervals, in (0, 1).
    ci : {"percentile", "normal"}
        ``"percentile"``: the ``(1 - conf)/2`` and ``(1 + conf)/2`` quantiles of the bootstrap
        estimates. ``"normal"``: estimate ± ``z * sd`` of the bootstrap estimates (SALib's
        ``S1_conf`` / ``ST_conf`` is this half-width).
    seed : int, optional
        Seed of the bootstrap (``numpy.random.default_rng(seed)``). Default: an independent
        stream derived from the design's seed, ``default_rng([design.seed, 1])``. Do not reuse
        the design's own seed: the resamples would be correlated with the draws.

    Returns
    -------
    pandas.DataFrame
        One row per (output, factor), outputs in input order then factors in design order
        (one row per *group* for a grouped design; ``factor`` is then the group name);
        columns ``output``, ``factor``, ``S1``, ``S1_lo``, ``S1_hi``, ``ST``, ``ST_lo``,
        ``ST_hi`` and ``variance`` (the output variance the indices are shares of; 0 for a
        constant output). ``attrs`` records ``design`` (:meth:`SampleDesign.spec`: factors, n, seed,
        sampler), ``bootstrap_seed``, ``n_boot``, ``conf``, ``ci`` and ``estimators``.

    Raises
    ------
    DataError
        If ``Y`` has the wrong number of rows, a non-numeric column, a misordered index,
        repeated output names, or non-finite values (every such cell is listed).
    ValueError
        If ``n_boot``, ``conf``, ``ci`` or ``seed`` is invalid.

    Notes
    -----
    With ``y_A``, ``y_B``, ``y_ABi`` the outputs on the rows of ``A``, ``B``, ``AB_i``, all
    centred by the mean of every run (as SALib does; the first-order estimator is not
    shift-invariant and centring lowers its variance):

    .. math::

        \\hat V &= \\operatorname{Var}(y_A \\cup y_B) \\quad (2n \\text{ values}, \\text{ddof } 0) \\\\
        \\hat S_i &= \\frac{1}{n \\hat V} \\sum_j y_B^{(j)} \\left(y_{AB_i}^{(j)} - y_A^{(j)}\\right)
            \\quad \\text{(Saltelli et al. 2010, Table 2 (b))} \\\\
        \\hat S_{Ti} &= \\frac{1}{2 n \\hat V} \\sum_j \\left(y_A^{(j)} - y_{AB_i}^{(j)}\\right)^2
            \\quad \\text{(Jansen 1999)}

    These are exactly the estimators of ``SALib.analyze.sobol.analyze`` (SALib 1.6,
    ``calc_second_order=False``). A factor that changes nothing has ``y_ABi == y_A``, so both its
    indices (and their intervals) are exactly 0. An output whose A∪B standard deviation is at
    most ``CONSTANT_RTOL`` times its largest absolute value (a constant output, e.g. a unit whose
    outcome never changes) has all indices defined as 0, not NaN; so does a bootstrap resample
    whose variance is that small. Estimates are not clipped: sampling error can make them
    slightly negative or above 1.

    For a grouped design ``AB_i`` switches every factor of group ``i`` and the same formulas give
    the first-order and total indices of the group (the variance share of its factors jointly,
    Jacques et al. 2006 [5]_).

    The bootstrap resamples the ``n`` base rows with replacement (the same rows for ``A``,
    ``B`` and every ``AB_i``), drawn as ``rng.integers(n, size=(n, n_boot))`` (column ``b`` is
    resample ``b``, as in SALib) and re-estimates every index with the same centring. It is
    computed for all outputs at once as a matrix product of resample counts and per-row terms.

    References
    ----------
    .. [1] Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M., Tarantola, S. (2010).
       Variance based sensitivity analysis of model output. Design and estimator for the total
       sensitivity index. Computer Physics Communications 181(2), 259-270.
       doi:10.1016/j.cpc.2009.09.018
    .. [2] Jansen, M. J. W. (1999). Analysis of variance designs for model output. Computer
       Physics Communications 117(1-2), 35-43. doi:10.1016/S0010-4655(98)00154-4
    .. [3] Sobol', I. M. (2001). Global sensitivity indices for nonlinear mathematical models
       and their Monte Carlo estimates. Mathematics and Computers in Simulation 55, 271-280.
    .. [4] Efron, B., Tibshirani, R. J. (1993). An Introduction to the Bootstrap. Chapman & Hall.
    .. [5] Jacques, J., Lavergne, C., Devictor, N. (2006). Sensitivity analysis in presence of
       model uncertainty and correlated inputs. Reliability Engineering & System Safety 91,
       1126-1134. doi:10.1016/j.ress.2005.11.047

    Examples
    --------
    >>> d = sample([choice("c", [0, 1, 2]), uniform("x", 0, 1), uniform("dummy", 0, 1)],
    ...            4096, seed=1)
    >>> x = d.matrix()
    >>> res = analyse(d, x[:, 0] + x[:, 1], n_boot=100, seed=2)
    >>> res[["factor", "S1", "ST"]].round(1).to_string(index=False)  # doctest: +NORMALIZE_WHITESPACE
    'factor  S1  ST\\n c 0.9 0.9\\n x 0.1 0.1\\n dummy 0.0 0.0'
    """
    y, names = _outputs_matrix(design, Y, output_names)
    if not isinstance(n_boot, numbers.Integral) or isinstance(n_boot, bool) or n_boot < 0:
        raise ValueError(f"n_boot must be an integer >= 0, got {n_boot!r}")
    if n_boot == 1:
        raise ValueError("n_boot = 1 cannot give an interval; use 0 (no bootstrap) or >= 2")
    if not (isinstance(conf, numbers.Real) and 0 < conf < 1):
        raise ValueError(f"conf must be a number in (0, 1), got {conf!r}")
    if ci not in CI_METHODS:
        raise ValueError(f"ci {ci!r} is unknown; use one of {CI_METHODS}")
    if seed is None:
        if design.seed is None:
            raise ValueError(
                "the design has no seed (its matrices were given); pass seed= for the bootstrap"
            )
        boot_seed = [design.seed, 1]
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        boot_seed = int(seed)
    else:
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")

    n, k, m = design.n, design.n_groups, y.shape[1]
    counts = None
    if n_boot:
        rng = np.random.default_rng(boot_seed)
        resamples = rng.integers(n, size=(n, n_boot))
        flat = (np.arange(n_boot) * n)[None, :] + resamples
        counts = np.bincount(flat.ravel(), minlength=n_boot * n).reshape(n_boot, n)
        counts = counts.astype(float)
        del resamples, flat

    est = {key: np.full((k, m), np.nan) for key in
           ("S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi")}
    variance = np.empty(m)
    per_output = (2 * k + 4) * (2 * n + n_boot) + 4 * n_boot * k
    chunk = max(1, _CHUNK_FLOATS // per_output)
    for start in range(0, m, chunk):
        cols = slice(start, min(m, start + chunk))
        part = _indices(y[:, cols], n, k, counts, conf, ci)
        for key, value in part.items():
            if key == "variance":
                variance[cols] = value
            else:
                est[key][:, cols] = value

    out_index = pd.Index(names)
    frame = pd.DataFrame({
        "output": out_index.repeat(k),
        "factor": pd.Index(design.group_names * m, dtype="str"),
        **{key: value.T.ravel() for key, value in est.items()},
        "variance": np.repeat(variance, k),
    })
    frame.attrs = {
        "design": design.spec(),
        "bootstrap_seed": boot_seed,
        "n_boot": int(n_boot),
        "conf": float(conf),
        "ci": ci,
        "estimators": {
            "S1": "Saltelli et al. (2010): mean(yB (yABi - yA)) / Var(yA, yB)",
            "ST": "Jansen (1999): mean((yA - yABi)^2) / 2 / Var(yA, yB)",
            "centring": "outputs centred by their mean over all runs (as SALib)",
        },
    }
    return frame


def _indices(y: np.ndarray, n: int, k: int, counts, conf: float, ci: str) -> dict:
    """Indices and intervals for a block of outputs ``y`` (runs x outputs)."""
    mc = y.shape[1]
    y_a, y_b = y[:n], y[n:2 * n]
    y_ab = y[2 * n:].reshape(k, n, mc)
    centre = y.mean(axis=0)
    floor = (CONSTANT_RTOL * np.abs(y).max(axis=0)) ** 2
    a, b = y_a - centre, y_b - centre
    diff = y_ab - y_a  # (k, n, mc); exactly 0 where factor i changes nothing
    first = b * diff  # Saltelli 2010 first-order terms
    total = 0.5 * diff * diff  # Jansen 1999 total-order terms
    var = np.concatenate([a, b]).var(axis=0)
    ok = var > floor
    safe = np.where(ok, var, 1.0)
    out = {
        "S1": np.where(ok, first.mean(axis=1) / safe, 0.0) + 0.0,  # + 0.0 turns -0.0 into 0.0
        "ST": np.where(ok, total.mean(axis=1) / safe, 0.0) + 0.0,
        "variance": np.where(ok, var, 0.0),
    }
    if counts is None:
        return out

    # Bootstrap: the mean of per-row terms over a resample is counts @ terms / n, so every
    # resample and output is one matrix product.
    n_boot = counts.shape[0]
    terms = np.concatenate([
        first.transpose(1, 0, 2).reshape(n, k * mc),
        total.transpose(1, 0, 2).reshape(n, k * mc),
        a, b, a * a, b * b,
    ], axis=1)
    means = counts @ terms / n
    km = k * mc
    m_first = means[:, :km].reshape(n_boot, k, mc)
    m_total = means[:, km:2 * km].reshape(n_boot, k, mc)
    m_a, m_b, m_aa, m_bb = (means[:, 2 * km + i * mc: 2 * km + (i + 1) * mc] for i in range(4))
    pooled_mean = 0.5 * (m_a + m_b)
    var_boot = (0.5 * (m_aa + m_bb) - pooled_mean**2)[:, None, :]
    ok_boot = ok & (var_boot > floor)
    safe_boot = np.where(ok_boot, var_boot, 1.0)
    for key, numer in (("S1", m_first), ("ST", m_total)):
        reps = np.where(ok_boot, numer / safe_boot, 0.0)
        if ci == "percentile":
            lo, hi = np.quantile(reps, [(1 - conf) / 2, (1 + conf) / 2], axis=0)
        else:
            half = stats.norm.ppf(0.5 + conf / 2) * reps.std(axis=0, ddof=1)
            lo, hi = out[key] - half, out[key] + half
        out[f"{key}_lo"], out[f"{key}_hi"] = lo + 0.0, hi + 0.0
    return out


def _outputs_matrix(design: SampleDesign, Y, output_names) -> tuple[np.ndarray, list]:
    """Validate model outputs and return them as a float (runs x outputs) matrix and labels."""
    where = "model outputs Y"
    expected = design.n_runs
    names = None
    if isinstance(Y, pd.Series):
        Y = Y.to_frame(name="y" if Y.name is None else Y.name)
    if isinstance(Y, pd.DataFrame):
        problems = []
        index = Y.index
        if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1) and not (
            pd.api.types.is_integer_dtype(index.dtype)
            and len(index) == expected
            and np.array_equal(index.to_numpy(), np.arange(expected))
        ):
            problems.append(Problem(
                "the index must be the run numbers 0, 1, ... in order (as in design.runs()); "
                "if the rows are already in run order use Y.reset_index(drop=True)",
                file=where,
            ))
        for col in Y.columns:
            if not (pd.api.types.is_numeric_dtype(Y[col].dtype)
                    and not pd.api.types.is_bool_dtype(Y[col].dtype)):
                problems.append(Problem(
                    f"is not numeric (dtype {Y[col].dtype}); every output must be a number",
                    file=where, column=str(col),
                ))
        if problems:
            raise DataError(problems, title="The model outputs are malformed")
        names = list(Y.columns)
        y = Y.to_numpy(dtype=float, na_value=np.nan)
    else:
        try:
            y = np.array(Y, dtype=float)
        except (TypeError, ValueError) as err:
            raise DataError(Problem(f"must be numeric: {err}", file=where)) from None
        if y.ndim == 1:
            y = y[:, None]
            names = ["y"]
        elif y.ndim == 2:
            names = list(range(y.shape[1]))
        else:
            raise DataError(Problem(
                f"has shape {y.shape}; expected (runs,) or (runs, outputs)", file=where))
    if output_names is not None:
        output_names = list(output_names)
        if len(output_names) != y.shape[1]:
            raise DataError(Problem(
                f"{len(output_names)} output_names were given for {y.shape[1]} output column(s)",
                file=where,
            ))
        names = output_names
    problems = []
    if y.shape[0] != expected:
        problems.append(Problem(
            f"has {y.shape[0]} rows but the design has n (g + 2) = {design.n} x "
            f"({design.n_groups} + 2) = {expected} runs; evaluate the model on every row of "
            "design.runs(), in order",
            file=where,
        ))
    if y.shape[1] == 0:
        problems.append(Problem("has no output columns", file=where))
    dup = pd.Index(names)
    dup = dup[dup.duplicated()].unique().tolist()
    if dup:
        problems.append(Problem(f"output names are repeated: {dup!r}; make them unique",
                                file=where))
    if problems:
        raise DataError(problems, title="The model outputs do not fit the design")
    bad = np.argwhere(~np.isfinite(y))
    if len(bad):
        n = design.n
        blocks = ["A", "B"] + [f"AB ({name} from B)" for name in design.group_names]
        raise DataError(
            [Problem(
                f"run {r} (block {blocks[r // n]}, base row {r % n}) is not finite; every run "
                "must produce a number: fix the model or the factor ranges that produce it",
                file=where, column=str(names[c]), value=float(y[r, c]),
            ) for r, c in bad],
            title=f"{len(bad)} model output(s) are NaN or infinite",
        )
    return y, names


# ---------------------------------------------------------------------------- can it be read?


def readability(indices: pd.DataFrame, *, max_width: float = READABLE_WIDTH,
                slack: float = READABLE_SLACK) -> pd.DataFrame:
    """Flag the Sobol' indices that the sample is too small to read.

    Parameters
    ----------
    indices : DataFrame
        :func:`analyse`'s table (``output``, ``factor``, ``S1``, ``S1_lo``, ``S1_hi``, ``ST``,
        ``ST_lo``, ``ST_hi``, ``variance``).
    max_width : float
        Widest confidence interval accepted (default :data:`READABLE_WIDTH`).
    slack : float
        How far outside [0, 1] an estimate may lie (default :data:`READABLE_SLACK`).

    Returns
    -------
    DataFrame
        A copy with two more columns: ``readable`` (bool) and ``reading`` (why a row cannot be
        read, ``""`` when it can). ``attrs`` gains ``unreadable`` (the outputs with at least
        one unreadable row, in order), ``max_width``, ``slack`` and ``warning`` (one sentence
        for the summary outputs ``mean_abs_rank_shift`` and ``outcome_changes`` — or for every
        output when those are absent — ``""`` when all can be read).

    Notes
    -----
    A row cannot be read when S1 or ST lies below ``-slack`` or above ``1 + slack`` (a share of
    variance is in [0, 1]; only sampling error puts an estimate outside), or when the interval of
    S1 or of ST is wider than ``max_width``. A constant output (``variance`` 0) has indices 0 by
    definition and can always be read. Sampling error shrinks as ``1/sqrt(n)``: four times the
    base rows halve the intervals.

    Examples
    --------
    >>> t = pd.DataFrame({"output": ["y", "y"], "factor": ["a", "b"], "S1": [0.6, 0.1],
    ...                   "S1_lo": [0.5, 0.0], "S1_hi": [0.7, 0.2], "ST": [1.18, 0.2],
    ...                   "ST_lo": [0.9, 0.1], "ST_hi": [1.4, 0.3], "variance": [2.0, 2.0]})
    >>> readability(t)["reading"].tolist()
    ['ST 1.18 is above 1; ST interval 0.9–1.4 is wider than 0.3', '']
    """
    out = indices.copy()
    reasons = []
    for row in out.itertuples(index=False):
        why = []
        if getattr(row, "variance", 1.0) > 0:
            for key in ("S1", "ST"):
                value = getattr(row, key)
                if value > 1 + slack:
                    why.append(f"{key} {value:.3g} is above 1")
                elif value < -slack:
                    why.append(f"{key} {value:.3g} is below 0")
            for key in ("S1", "ST"):
                lo, hi = getattr(row, f"{key}_lo"), getattr(row, f"{key}_hi")
                if np.isfinite(lo) and np.isfinite(hi) and hi - lo > max_width:
                    why.append(f"{key} interval {lo:.3g}–{hi:.3g} is wider than {max_width:g}")
        reasons.append("; ".join(why))
    out["readable"] = [not r for r in reasons]
    out["reading"] = pd.array(reasons, dtype="str") if len(reasons) else pd.array([], "str")
    bad = list(dict.fromkeys(out.loc[~out["readable"], "output"]))
    summaries = [o for o in ("mean_abs_rank_shift", "outcome_changes")
                 if o in set(out["output"])] or list(dict.fromkeys(out["output"]))
    flagged = [o for o in summaries if o in bad]
    warning = ""
    if flagged:
        runs = out.attrs.get("design", {}).get("n")
        warning = (f"The sample is too small to read the Sobol' indices of {', '.join(flagged)}"
                   + (f" (n = {runs} base rows)" if runs else "")
                   + f": some estimates lie outside [0, 1] by more than {slack:g} or have "
                   f"intervals wider than {max_width:g}. Re-run with a larger n (four times n "
                   "halves the intervals) before reading them.")
    out.attrs = {**indices.attrs, "unreadable": bad, "max_width": float(max_width),
                 "slack": float(slack), "warning": warning}
    return out
