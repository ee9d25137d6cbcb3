"""Where validated batches wait for the apply: in memory while they are few, then in a file.

Validation (ingest/validate.py) sees each batch once, as the reader yields it, and must see all
of them before anything is applied (a file with any error changes nothing). The batches it has
checked are kept here meanwhile: in memory up to `MEMORY_BYTES`, and past that written to a
temporary Arrow IPC file, read back a batch at a time as often as the apply needs them
(store/incoming.py `ValidatedData.batches`). So a load's memory is bounded by its batch, and
its disk by its validated rows (about the size of the file). The file is removed on `close`,
or when the spool is collected. Its name carries the host and pid of its process: a process
killed mid-load (SIGKILL) leaves its file, and the next load on the host removes it (`sweep`).
"""

from __future__ import annotations

import os
import socket
import tempfile
import weakref
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from sdmx_server.store.liveness import alive

#: Validated rows kept in memory before the spool moves to a file.
MEMORY_BYTES = 16 << 20
PREFIX = "sdmx-load-"


def _prefix(host: str, pid: int) -> str:
    # (no '-' in the host part: the name splits back into host and pid)
    return f"{PREFIX}{host.replace('-', '_')}-{pid}-"


def sweep(directory: str | os.PathLike) -> list[str]:
    """Remove the spool files in `directory` left by dead processes of this host (a load
    killed mid-way); those of live processes, or of other hosts sharing it, stay. The removed."""
    here = _prefix(socket.gethostname(), 0).rsplit("-", 2)[0] + "-"
    removed = []
    for path in Path(directory).glob(f"{PREFIX}*"):
        if not path.name.startswith(here):
            continue
        pid = path.name[len(here):].split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            _remove(str(path))
            removed.append(str(path))
    return removed


class Spool:
    def __init__(self, directory: str | os.PathLike | None = None, memory_bytes: int | None = None):
        self._directory = directory
        self._memory_bytes = MEMORY_BYTES if memory_bytes is None else memory_bytes
        self._batches: list[pa.Table] = []
        self._bytes = 0
        self._path: str | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._sink = None
        self.rows = 0

    def add(self, batch: pa.Table) -> None:
        self.rows += batch.num_rows
        if self._writer is None:
            self._batches.append(batch)
            self._bytes += batch.nbytes
            if self._bytes > self._memory_bytes:
                self._to_file()
        else:
            self._write(batch)

    def _to_file(self) -> None:
        prefix = _prefix(socket.gethostname(), os.getpid())
        fd, self._path = tempfile.mkstemp(prefix=prefix, suffix=".arrow", dir=self._directory)
        os.close(fd)
        weakref.finalize(self, _remove, self._path)
        self._sink = pa.OSFile(self._path, "wb")
        self._schema = self._batches[0].schema
        self._writer = pa.ipc.new_file(self._sink, self._schema)
        for batch in self._batches:
            self._write(batch)
        self._batches, self._bytes = [], 0

    def _write(self, batch: pa.Table) -> None:
        # (one schema in a file: a column typed null in one batch takes the first batch's type)
        self._writer.write_table(batch if batch.schema == self._schema else batch.cast(self._schema))

    def finish(self) -> None:
        """No more batches: the file (if any) is complete and may be read."""
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = None

    def batches(self) -> Iterator[pa.Table]:
        """The batches in the order they came, read again at each call."""
        if self._path is None:
            yield from self._batches
            return
        with pa.OSFile(self._path, "rb") as source:
            reader = pa.ipc.open_file(source)
            for index in range(reader.num_record_batches):
                yield pa.Table.from_batches([reader.get_batch(index)])

    def close(self) -> None:
        self.finish()
        self._batches = []
        if self._path is not None:
            _remove(self._path)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
