"""Errors in authoring files: where they are and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AuthoringError:
    path: Path
    line: int  # 1-based; 0 only when no line applies
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class Reporter:
    """Collects the errors of one file into a shared list."""

    def __init__(self, path: Path, sink: list[AuthoringError]):
        self.path = path
        self.sink = sink

    def __call__(self, line: int, message: str) -> None:
        self.sink.append(AuthoringError(self.path, max(int(line), 0), message))
