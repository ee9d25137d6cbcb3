"""Progress of a load, as the pipeline's stages report it.

`Progress` is a callable `(stage, done, total)`: stage is "pull" (rows a source of loaders/
pulled, sources/sync.py), "read" (bytes of the source), "validate" or "apply" (rows); total
is None when unknown. The pipeline calls it at the start
and end of each stage and, where a stage can tell, in between; it must be cheap and must not
raise (a failing display must never fail a load). The CLI draws it (ingest/console.py); other
callers pass nothing.

`CountingFile` wraps a source file so that reading it reports "read" progress without the
readers knowing: every reader reads through it.
"""

from __future__ import annotations

import io
from typing import BinaryIO, Callable, Optional

Progress = Callable[[str, int, Optional[int]], None]

STAGES = ("read", "validate", "apply")


def no_progress(stage: str, done: int, total: int | None) -> None:
    """The default: nobody is watching."""


def safe(progress: Progress | None) -> Progress:
    """The callable, made unable to fail the load it watches."""
    if progress is None:
        return no_progress

    def call(stage: str, done: int, total: int | None) -> None:
        try:
            progress(stage, done, total)
        except Exception:  # noqa: BLE001 - a display's failure is not the load's
            pass

    return call


class CountingFile(io.RawIOBase):
    """A read-only binary file that reports how far it has been read (the furthest offset)."""

    def __init__(self, raw: BinaryIO, size: int | None, progress: Progress):
        super().__init__()
        self._raw = raw
        self._size = size
        self._progress = progress
        self._furthest = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._report()
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._report()
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def _report(self) -> None:
        position = self._raw.tell()
        if position > self._furthest:
            self._furthest = position
            self._progress("read", position, self._size)
