"""What the store takes in: the store's input contract, which every source (files, uploads,
SQL sources) hands over once its rows are validated (ingest/validate.py makes it).

`ValidatedData.table` holds a column per component the source carries (dimension and attribute
values as text, the measure as a number where the DSD says so), the period bounds
(`tables.PERIOD_START`, `PERIOD_END`), the action of each row (`ACTION`: M, R or D) and its
row number in the source (`ROW`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

#: The row number of each record as a spreadsheet shows it (the header is row 1).
ROW = "sdmx_row"
#: The action of each record: M (merge), R (replace), D (delete), or null for the load's default.
ACTION = "sdmx_action"


@dataclass
class ValidatedData:
    table: pa.Table  # component columns, PERIOD_START, PERIOD_END, ACTION, ROW
    present: frozenset[str]  # the components the source carries
    sorted: bool = False  # rows already in key order

    @property
    def rows(self) -> int:
        return self.table.num_rows
