"""Ordering rows by their series key and period, fast: one integer per row.

Each key column is dictionary-encoded and its distinct values ranked in byte order (the order
of SQLite's BINARY and PostgreSQL's "C" collation); the ranks of all columns combine into one
int64 per row, and numpy sorts those. Sorted once, the rows serve both the duplicate check
(equal neighbours) and the store (rows land in primary-key order).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_LIMIT = 1 << 62


def key_codes(columns: list[pa.Array]) -> np.ndarray | None:
    """An int64 per row ordering rows as the columns do, lexicographically; None when the
    product of the columns' distinct counts would overflow (then sort the columns instead)."""
    if not columns:
        return None
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    span = 1
    for column in columns:
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        cardinality = len(encoded.dictionary) + 1  # + 1: a null ranks first
        if span * cardinality >= _LIMIT:
            return None
        ranks = np.empty(len(encoded.dictionary) + 1, dtype=np.int64)
        ranks[0] = 0
        ranks[1 + pc.sort_indices(encoded.dictionary).to_numpy()] = np.arange(1, cardinality)
        indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        key = key * cardinality + ranks[indices + 1]
        span *= cardinality
    return key


class KeyOrder:
    """The key order of rows, and which rows repeat the key of the row before them."""

    def __init__(self, columns: list[pa.Array]):
        self._columns = columns
        self._key = key_codes(columns)
        if self._key is not None:
            self.order = np.argsort(self._key, kind="stable")
        else:
            names = [f"k{i}" for i in range(len(columns))]
            table = pa.table(dict(zip(names, columns)))
            self.order = pc.sort_indices(table, sort_keys=[(n, "ascending") for n in names]).to_numpy()
        # Files usually come sorted already; then nothing needs to move.
        self.identity = bool(np.all(self.order[1:] > self.order[:-1])) if len(self.order) > 1 else True

    def repeats(self) -> np.ndarray:
        """In key order: is the row's key the same as the one before it?"""
        if self._key is not None:
            ordered = self._key[self.order]
            same = np.empty(len(ordered), dtype=bool)
            if len(ordered):
                same[0] = False
                same[1:] = ordered[1:] == ordered[:-1]
            return same
        return _equal_to_previous(self._columns, self.order)


def sort_order(columns: list[pa.Array]) -> np.ndarray:
    """Row positions in key order (stable: equal keys keep file order)."""
    return KeyOrder(columns).order


def _equal_to_previous(columns: list[pa.Array], order: np.ndarray) -> np.ndarray:
    same = np.ones(len(order), dtype=bool)
    same[0] = False
    for column in columns:
        values = pc.take(column, pa.array(order))
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        equal = pc.fill_null(pc.equal(values.slice(1), values.slice(0, len(values) - 1)), False)
        same[1:] &= equal.to_numpy(zero_copy_only=False)
    return same
