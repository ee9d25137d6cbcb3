"""What a person sees of a load on the command line: a progress bar while it runs, the report's
lines, and one closing line that says what happened.

The bar (rich) shows each stage of the pipeline with its rate and time left, on stderr, and
only when stderr is a terminal: a script or a pipe gets the plain lines only. The closing
summary counts what the load did to the store (added, changed, deleted, unchanged, from
ApplyResult) or why it did nothing (rejected, dry run).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from sdmx_server.ingest.progress import Progress

#: Stages shorter than this show no bar at all (a small file would only flicker).
SHOW_AFTER_SECONDS = 0.5
_UNITS = {"pull": "rows", "read": "bytes", "validate": "rows", "apply": "rows"}
_WORDS = {"pull": "pulling", "read": "reading", "validate": "validating", "apply": "writing"}


class ConsoleProgress:
    """A `Progress` that draws rich bars on a terminal; a context manager around the load."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool | None = None):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self._bars = None
        self._tasks: dict[str, int] = {}
        self._started = time.monotonic()

    def __enter__(self) -> "ConsoleProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self._bars is None:
            if time.monotonic() - self._started < SHOW_AFTER_SECONDS and (total is None or done < total):
                return
            self._bars = self._make_bars()
            self._bars.start()
        task = self._tasks.get(stage)
        if task is None:
            unit = _UNITS.get(stage, "rows")
            task = self._bars.add_task(f"{self.label}: {_WORDS.get(stage, stage)}", total=total, unit=unit)
            self._tasks[stage] = task
            for other, other_task in self._tasks.items():
                if other != stage:  # an earlier stage is over when the next one starts
                    self._bars.update(other_task, completed=self._bars.tasks[other_task].total or 0)
        self._bars.update(task, completed=done, total=total)

    def _make_bars(self):
        from rich.console import Console
        from rich.progress import (BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=Console(file=self.stream, force_terminal=True),  # enabled: drawn as on a terminal
            transient=True,  # the summary line replaces the bars
        )


def _rate_column_base():
    from rich.progress import ProgressColumn

    return ProgressColumn


class _RateColumn(_rate_column_base()):
    """Rows per second, or MB per second while reading."""

    def render(self, task):
        from rich.text import Text

        speed = task.finished_speed or task.speed
        if not speed:
            return Text("", style="progress.data.speed")
        if task.fields.get("unit") == "bytes":
            return Text(f"{speed / 1e6:,.1f} MB/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} rows/s", style="progress.data.speed")


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def summary(outcome, action: str, source: str) -> str:
    """One line that says what the load did (or why it did nothing), with its record."""
    report = outcome.report
    rows = report.rows_read
    label = report.row_label
    record = f"load #{outcome.record_id}"
    if outcome.status == "rejected":
        return f"{source}: {report.summary()} ({record})"
    if outcome.status == "validated":
        return (f"{source}: valid: {rows:,} {label}s checked for {outcome.flow}; dry run, nothing was changed "
                f"({record})")
    result = outcome.result
    if outcome.status == "pending":
        return (f"{source}: {action} of {rows:,} {label}s into {outcome.flow} validated and kept for its release "
                f"time; nothing is published before it ({record})")
    if outcome.status == "released" and result is None:
        return (f"{source}: {action} of {rows:,} {label}s into {outcome.flow} released at once: its release time "
                f"had come ({record})")
    rate = rows / outcome.seconds if outcome.seconds else 0
    counts = ""
    if result is not None:
        counts = (f": {result.added:,} added, {result.changed:,} changed, {result.deleted:,} deleted, "
                  f"{result.unchanged:,} unchanged")
    return (f"{source}: {action} of {rows:,} {label}s into {outcome.flow} {outcome.status} in "
            f"{outcome.seconds:.1f} s{counts} ({rate:,.0f} {label}s/s, {record})")


def print_outcome(outcome, action: str, source: str, out: TextIO, err: TextIO) -> None:
    """The report's lines on `out` (one per problem, named by source and row), warnings and the
    summary on `err`."""
    for line in outcome.report.lines():
        print(f"{source}: {line}", file=out)
    for warning in outcome.report.warnings:
        print(f"{source}: warning: {warning}", file=err)
    print(summary(outcome, action, source), file=err)


__all__ = ["ConsoleProgress", "Progress", "print_outcome", "summary"]
