"""The validation report: what is wrong with an incoming file, by row and column.

A million rows with the same wrong code make one line, not a million: problems are grouped by
column and message, each group naming its first row and counting the others. Row numbers count
the header as row 1, as a spreadsheet does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ProblemGroup:
    column: str
    message: str
    rows: list[int]  # the first few rows, ascending
    count: int

    def line(self) -> str:
        first = self.rows[0]
        where = f"row {first}, column {self.column}" if self.column else f"row {first}"
        text = f"{where}: {self.message}"
        others = self.count - 1
        if others > 0:
            shown = ", ".join(str(r) for r in self.rows[1:6])
            more = "" if others <= 5 else ", ..."
            text += f" (and {others:,} more row{'s' if others > 1 else ''}: {shown}{more})"
        return text


@dataclass
class ValidationReport:
    max_groups: int = 1000
    groups: list[ProblemGroup] = field(default_factory=list)
    #: Problems of the file as a whole (a missing column, an unreadable header).
    file_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_read: int = 0
    _index: dict[tuple[str, str], ProblemGroup] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.groups and not self.file_errors

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(g.count for g in self.groups)

    def file_error(self, message: str) -> None:
        self.file_errors.append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def add(self, column: str, message: str, rows) -> None:
        """Rows (numbers as a spreadsheet shows them) that share one problem."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        key = (column, message)
        group = self._index.get(key)
        first = np.sort(rows)[:6].tolist()
        if group is None:
            if len(self.groups) >= self.max_groups:
                self._overflow(rows.size)
                return
            group = ProblemGroup(column, message, first, int(rows.size))
            self._index[key] = group
            self.groups.append(group)
        else:
            group.rows = sorted(set(group.rows) | set(first))[:6]
            group.count += int(rows.size)

    def _overflow(self, count: int) -> None:
        key = ("", "further problems not itemised")
        group = self._index.get(key)
        if group is None:
            group = ProblemGroup("", "further problems not itemised", [0], 0)
            self._index[key] = group
            self.groups.append(group)
        group.count += count

    def lines(self) -> list[str]:
        ordered = sorted(self.groups, key=lambda g: (g.rows[0], g.column))
        return list(self.file_errors) + [g.line() for g in ordered]

    def summary(self) -> str:
        if self.ok:
            return f"{self.rows_read:,} rows valid"
        return f"rejected: {self.error_count:,} problem(s) in {self.rows_read:,} rows; nothing was loaded"

    def text(self) -> str:
        return "\n".join([*self.lines(), *(f"warning: {w}" for w in self.warnings), self.summary()])
