"""Exceptions raised by assesskit.

Every error is written for a person: it says which file, row, column or key is wrong, what was
expected, and how to fix it. Errors that can occur many times at once (bad cells in a file, bad
rows in a table) collect *every* problem before raising, so that a user fixes a file in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in the input: where it is and what is wrong.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    file : str, optional
        File (or table) the problem is in.
    row : int, optional
        Row number as a person counts it in the file (the header is row 1; the first data row is 2).
    column : str, optional
        Column name.
    value : object, optional
        The offending value, as read.
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass(frozen=True)
class Notice:
    """A decision taken by a documented policy rather than by the user's input, shown to the user.

    Nothing is dropped, changed or guessed silently: when a loader or the engine decides
    something on the user's behalf (an indicator assumed higher-is-better because the file gives
    no direction, a missing value left out and the other weights re-normalised, an indicator on
    which every unit has the same value), it records a notice. Notices are printed by the command
    line, listed by ``summary()`` and ``explain`` and shown in reports.

    Parameters
    ----------
    kind : str
        Short machine-readable name of the decision, e.g. ``"direction_assumed"``,
        ``"missing_renormalised"``, ``"constant_indicator"``.
    message : str
        What was decided and how to change it, for a person.
    where : str, optional
        File, row, column, key or unit the notice concerns.
    unit, level : str, optional
        The assessed unit (id) and level the decision is about, when it is about one unit, so
        that ``explain`` and a unit's report page list it.
    units : tuple of str, optional
        The assessed units (ids) a decision about several units concerns (an indicator with
        the same value for every unit of a group concerns that group's units), so that
        ``explain`` and the unit and group pages list it for those units only.
    """

    kind: str
    message: str
    where: str | None = None
    unit: str | None = None
    level: str | None = None
    units: tuple = ()

    def concerns(self, unit: str, level: str | None = None) -> bool:
        """Whether the decision is about ``unit`` (an id) of ``level``."""
        if level is not None and self.level not in (None, level):
            return False
        return self.unit == unit or unit in self.units

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class AssessKitError(Exception):
    """Base class of every error assesskit raises on purpose."""


class DataError(AssessKitError, ValueError):
    """Input data is malformed or inconsistent. ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str, title: str | None = None):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        head = title or f"{len(self.problems)} problem(s) in the input data"
        lines = [head + ":"] + [f"  - {p}" for p in self.problems[:200]]
        if len(self.problems) > 200:
            lines.append(f"  ... and {len(self.problems) - 200} more")
        super().__init__("\n".join(lines))


class SchemeError(AssessKitError, ValueError):
    """A scheme (YAML or dict) is malformed or inconsistent with the data.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    key : str, optional
        Dotted path of the offending key, e.g. ``levels.county.tree.task.weight``.
    source : str, optional
        File the scheme came from.
    line : int, optional
        1-based line of the key in the YAML file.
    """

    def __init__(
        self,
        message: str,
        key: str | None = None,
        source: str | None = None,
        line: int | None = None,
    ):
        self.key, self.source, self.line = key, source, line
        where = []
        if source:
            where.append(str(source) + (f", line {line}" if line else ""))
        elif line:
            where.append(f"line {line}")
        if key:
            where.append(f"key {key!r}")
        super().__init__(f"{'; '.join(where)}: {message}" if where else message)


class OutputError(AssessKitError, OSError):
    """An output file or folder cannot be written: it is a file where a folder is needed, its
    folder cannot be created, or it is not writable. The message names the path and says what
    to do."""
