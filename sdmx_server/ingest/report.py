"""The validation report: what is wrong with an incoming file, by row, column, value and rule.

A million rows with the same wrong code make one entry, not a million: problems are grouped by
column, rule and message, each group naming its first rows and counting the others; past
`max_groups` groups only a count is kept. Rows are numbered as the reader says
(`IncomingData.row_label`): CSV rows as a spreadsheet shows them (the header is row 1), SDMX-ML
lines, SDMX-JSON observations.

Two renderings: `text()` for people (the CLI) and `as_json()` for machines (uploads, the load
record's `report_json`); the JSON keys are documented in docs/loading.md and are stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Rows of a group that the report names (the rest are counted).
ROWS_NAMED = 6
#: Version of the JSON report's layout; a key that changes meaning gets a new version.
JSON_VERSION = 1


@dataclass
class ProblemGroup:
    column: str  # "" when the problem is not one column's (a duplicate key, a whole row)
    message: str
    rows: list[int]  # the first few rows, ascending; [] for a problem of the whole file
    count: int
    rule: str = "invalid"  # a stable identifier of the check, e.g. "code", "period", "duplicate"
    value: str | None = None  # the offending value, when one value is at fault

    def line(self, row_label: str = "row") -> str:
        where = f"{row_label} {self.rows[0]}" if self.rows else "the file"
        if self.column:
            where += f", column {self.column}"
        text = f"{where}: {self.message}"
        others = self.count - 1
        if others > 0 and self.rows:
            shown = ", ".join(str(r) for r in self.rows[1:ROWS_NAMED])
            more = "" if others <= ROWS_NAMED - 1 else ", ..."
            text += f" (and {others:,} more {row_label}{'s' if others > 1 else ''}: {shown}{more})"
        return text

    def as_json(self) -> dict:
        return {
            "row": self.rows[0] if self.rows else None,
            "rows": list(self.rows),
            "count": self.count,
            "column": self.column or None,
            "value": self.value,
            "rule": self.rule,
            "message": self.message,
        }


@dataclass
class ValidationReport:
    max_groups: int = 1000
    groups: list[ProblemGroup] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_read: int = 0
    #: What the rows are counted in (IncomingData.row_label): "row", "line" or "observation".
    row_label: str = "row"
    #: The source as a person names it: a file name, "upload", a source id of loaders/.
    source: str | None = None
    #: The format as the reader named it ("SDMX-CSV 2.0", ...), once read.
    format: str | None = None
    #: Problems past `max_groups`: counted, not itemised.
    unlisted: int = 0
    #: The messages of the problems that stopped the file being read (file_error).
    file_errors: list[str] = field(default_factory=list)
    _index: dict[tuple[str, str, str], ProblemGroup] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.groups and not self.unlisted

    @property
    def error_count(self) -> int:
        return sum(g.count for g in self.groups) + self.unlisted

    def file_error(self, message: str, rule: str = "file", column: str = "", row: int | None = None,
                   value: str | None = None) -> None:
        """A problem that stops the file being read (a missing column, an unreadable header...),
        at its row when there is one."""
        self.file_errors.append(message)
        self.add(column, message, [] if row is None else [row], rule=rule, value=value, whole_file=row is None)

    def only_file_errors(self) -> None:
        """Keep only the problems that stopped the file being read: the rows checked before one
        was found (a reader that streams finds some at the end) were misread, not wrong."""
        errors = set(self.file_errors)
        self.groups = [g for g in self.groups if g.message in errors]
        self._index = {k: g for k, g in self._index.items() if g.message in errors}
        self.unlisted = 0

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def add(self, column: str, message: str, rows, rule: str = "invalid", value: str | None = None,
            whole_file: bool = False) -> None:
        """Rows (numbered as the reader counts them) that share one problem."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0 and not whole_file:
            return
        key = (column, rule, message)
        group = self._index.get(key)
        first = np.sort(rows)[:ROWS_NAMED].tolist()
        count = max(int(rows.size), 1)
        if group is None:
            if len(self.groups) >= self.max_groups:
                self.unlisted += count
                return
            group = ProblemGroup(column, message, first, count, rule, value)
            self._index[key] = group
            self.groups.append(group)
        else:
            group.rows = sorted(set(group.rows) | set(first))[:ROWS_NAMED]
            group.count += count

    def ordered(self) -> list[ProblemGroup]:
        """Problems of the whole file first, then by first row."""
        return sorted(self.groups, key=lambda g: (bool(g.rows), g.rows[0] if g.rows else 0, g.column))

    def lines(self) -> list[str]:
        lines = [g.line(self.row_label) for g in self.ordered()]
        if self.unlisted:
            lines.append(f"... and {self.unlisted:,} further problem(s), not itemised (the report lists "
                         f"{self.max_groups:,} kinds)")
        return lines

    def summary(self) -> str:
        if self.ok:
            return f"{self.rows_read:,} {self.row_label}s valid"
        return (f"rejected: {self.error_count:,} problem(s) in {self.rows_read:,} {self.row_label}s; "
                "nothing was loaded")

    def text(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        body = [*self.lines(), *(f"warning: {w}" for w in self.warnings), self.summary()]
        return "\n".join(prefix + line for line in body)

    def as_json(self) -> dict:
        """The report for machines (keys documented in docs/loading.md)."""
        return {
            "version": JSON_VERSION,
            "valid": self.ok,
            "source": self.source,
            "format": self.format,
            "rowLabel": self.row_label,
            "rowsRead": self.rows_read,
            "errorCount": self.error_count,
            "errorsUnlisted": self.unlisted,
            "errors": [g.as_json() for g in self.ordered()],
            "warnings": list(self.warnings),
        }
