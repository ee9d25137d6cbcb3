"""What the store takes in: the store's input contract, which every source (files, uploads,
SQL sources) hands over once its rows are validated (ingest/validate.py makes it).

`ValidatedData` holds a column per component the source carries (dimension and attribute
values as text, the measure as a number where the DSD says so), the period bounds
(`tables.PERIOD_START`, `PERIOD_END`), the action of each row (`ACTION`: M, R or D) and its
row number in the source (`ROW`), as a sequence of batches: `batches()` may be called more
than once (each call reads them again, from memory or from the spool file validation wrote
them to), so that a load's memory is bounded by its batch, not by its file. `whole()` joins
them into one table, for the few users that need all rows at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import pyarrow as pa

#: The row number of each record as a spreadsheet shows it (the header is row 1).
ROW = "sdmx_row"
#: The action of each record: M (merge), R (replace), D (delete), or null for the load's default.
ACTION = "sdmx_action"

#: Rows per batch when a whole table is handed over in batches.
BATCH_ROWS = 65_536


@dataclass
class ValidatedData:
    table: pa.Table | None  # all rows at once; None when they come from `stream`
    present: frozenset[str]  # the components the source carries
    sorted: bool = False  # rows already in key order (across all batches)
    #: The batches again, each call from the start (a spool file); with `count` rows in all.
    stream: Callable[[], Iterator[pa.Table]] | None = None
    count: int = 0
    #: Frees what holds the stream (removes the spool file); `close` calls it.
    release: Callable[[], None] | None = None

    def close(self) -> None:
        """Done with the rows: a spool file goes now, not when it is collected."""
        if self.release is not None:
            self.release()

    @property
    def rows(self) -> int:
        return self.table.num_rows if self.table is not None else self.count

    def batches(self) -> Iterator[pa.Table]:
        """The rows in order, a batch at a time (a batch may have no rows)."""
        if self.table is None:
            assert self.stream is not None
            yield from self.stream()
            return
        for start in range(0, self.table.num_rows, BATCH_ROWS):
            yield self.table.slice(start, BATCH_ROWS)

    def whole(self) -> pa.Table:
        """All rows as one table (memory: the whole load)."""
        if self.table is not None:
            return self.table
        return pa.concat_tables(list(self.batches()))
