"""Duplicate observations and key order across the batches of a load, exact, in little memory.

Two rows that write the same observation are an error (a delete between them makes the second
a new write: rows are taken in key order, equal keys in file order, as the store applies them).
Most files come in key order: then each batch is checked on its own (its rows compared with
their neighbours, `store/ordering.py`) and its first row with the last row of the batch before,
and nothing grows with the file. When a batch breaks the order, the check is done at the end
over the spooled batches instead: a 64-bit hash of each row's key (8 bytes a row), sorted, and
the rows whose hashes repeat confirmed on their exact keys, so a hash collision never reports
a duplicate that is not one. Either way the report names each duplicate's rows.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sdmx_server.ingest.report import ValidationReport
from sdmx_server.store.ordering import KeyOrder

#: Reads the validated batches again: each as {component id: column}, writes mask, rows.
Rescan = Callable[[], Iterator[tuple[dict, pa.Array, np.ndarray]]]
#: Duplicate groups itemised in a report.
MAX_GROUPS = 1000
_MIX = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0x5BD1E9955BD1E995)


class KeyCheck:
    def __init__(self, key_ids: list[str], report: ValidationReport):
        self.key_ids = key_ids
        self.report = report
        self.complete = True  # every batch carries every key column (delete files may not)
        self.sorted = True  # every row so far in key order
        self._last: tuple | None = None  # the last row's key, as compared
        self._last_writing = False
        self._last_row = 0  # the last row's number: the row a duplicate starting a batch repeats
        self._open = False  # the last row was a duplicate, reported: a run the next batch may go on with
        self._found: list[tuple[str, int, np.ndarray]] = []  # (key, first row, other rows)

    def add(self, columns: dict, writes: pa.Array, rows: np.ndarray) -> None:
        if not self.complete or any(k not in columns for k in self.key_ids):
            self.complete = False
            return
        n = len(rows)
        if not n or not self.sorted:
            return  # out of order already: all is checked at the end
        keys = [columns[k] for k in self.key_ids]
        ordering = KeyOrder(keys)
        first = _key_at(keys, 0)
        if not ordering.identity or (self._last is not None and _order(first) < _order(self._last)):
            self.sorted = False
            return
        writing = pc.fill_null(writes, False).to_numpy(zero_copy_only=False)
        same = ordering.repeats()
        same[0] = self._last is not None and first == self._last
        before = np.concatenate([[self._last_writing], writing[:-1]])
        duplicate = same & writing & before
        if duplicate.any():
            self._gather(keys, rows, duplicate)
        else:
            self._open = False
        self._last = _key_at(keys, n - 1)
        self._last_row = int(rows[-1])
        self._last_writing = bool(writing[-1])

    def _gather(self, keys, rows: np.ndarray, duplicate: np.ndarray) -> None:
        positions = np.flatnonzero(duplicate)
        runs = np.split(positions, np.flatnonzero(np.diff(positions) != 1) + 1)
        open_before = self._open
        for run in runs:
            self._open = False
            if run[0] == 0 and open_before:  # the batch before's run goes on: one group, as in one batch
                key, first, others = self._found[-1]
                self._found[-1] = (key, first, np.concatenate([others, rows[run]]))
                self._open = int(run[-1]) == len(rows) - 1
                continue
            if len(self._found) >= MAX_GROUPS:
                return
            self._open = int(run[-1]) == len(rows) - 1
            start = int(run[0]) - 1
            # The row just before the run (after a delete, the write after it, not the key's first)
            first = int(rows[start]) if start >= 0 else self._last_row
            self._found.append((_text(_key_at(keys, int(run[0]))), first, rows[run]))

    def finish(self, rescan: Rescan) -> None:
        """Reports the duplicates: those found on the way, or (out of order) all of them now."""
        if not self.complete:
            return
        if not self.sorted:
            self._found = _unsorted(self.key_ids, rescan)
        for key, first, others in self._found:
            self.report.add("", f"duplicate observation {key}: also in {self.report.row_label} {first}",
                            np.sort(others), rule="duplicate", value=key)


def _key_at(keys: list[pa.Array], i: int) -> tuple:
    return tuple(k[i].as_py() for k in keys)


def _order(key: tuple) -> tuple:
    # A null ranks first, as store/ordering.py ranks it.
    return tuple((v is not None, v or "") for v in key)


def _text(key: tuple) -> str:
    return ".".join(str(v) for v in key)


def _hash(keys: list[pa.Array]) -> np.ndarray:
    """A 64-bit hash of each row's key (Python's string hash of each distinct value, mixed)."""
    h = np.zeros(len(keys[0]), dtype=np.uint64)
    for column in keys:
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        values = np.array([hash(v) for v in encoded.dictionary.to_pylist()] + [0], dtype=np.int64).view(np.uint64)
        values[-1] = _NULL
        index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        with np.errstate(over="ignore"):
            h = (h * _MIX) ^ values[index]
            h ^= h >> np.uint64(29)
    return h


def _unsorted(key_ids: list[str], rescan: Rescan) -> list[tuple[str, int, np.ndarray]]:
    """Every duplicate group of rows in any order: hashes sorted, repeats confirmed exactly."""
    hashes, writing = [], []
    for columns, writes, rows in rescan():
        if len(rows):
            hashes.append(_hash([columns[k] for k in key_ids]))
            writing.append(pc.fill_null(writes, False).to_numpy(zero_copy_only=False))
    if not hashes:
        return []
    h = np.concatenate(hashes)
    w = np.concatenate(writing)
    del hashes, writing
    order = np.argsort(h, kind="stable")
    ordered = h[order]
    # Every row of a hash group with two writes or more, deletes too: a delete between two
    # writes of a key makes the second a new write, so the rule needs it.
    starts = np.ones(len(h), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    group = np.cumsum(starts) - 1
    candidates = np.sort(order[np.bincount(group, weights=w[order])[group] >= 2])
    if not len(candidates):
        return []
    # The candidates' exact keys (file positions), read again; then checked as a sorted file is.
    found: dict[str, list] = {k: [] for k in key_ids}
    found_rows, found_writes = [], []
    offset = 0
    for columns, writes, rows in rescan():
        n = len(rows)
        inside = candidates[(candidates >= offset) & (candidates < offset + n)] - offset
        if len(inside):
            take = pa.array(inside)
            for k in key_ids:
                found[k].append(pc.take(columns[k], take))
            found_rows.append(rows[inside])
            found_writes.append(pc.take(pc.fill_null(writes, False), take))
        offset += n
    keys = [pa.concat_arrays(found[k]) for k in key_ids]
    rows = np.concatenate(found_rows)
    writes = pa.concat_arrays(found_writes).to_numpy(zero_copy_only=False)
    ordering = KeyOrder(keys)
    order = ordering.order
    same = ordering.repeats()
    ordered_writes = writes[order]  # (stable: equal keys in file order, as the store applies them)
    duplicate = same & ordered_writes & np.concatenate([[False], ordered_writes[:-1]])
    out = []
    positions = np.flatnonzero(duplicate)
    for run in np.split(positions, np.flatnonzero(np.diff(positions) != 1) + 1) if len(positions) else []:
        if len(out) >= MAX_GROUPS:
            break
        group = rows[order[int(run[0]) - 1:int(run[-1]) + 1]]
        out.append((_text(_key_at(keys, int(order[int(run[0])]))), int(group[0]), group[1:]))
    return out
