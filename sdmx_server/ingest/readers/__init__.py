"""Readers: each turns one kind of source into IncomingData (string columns named by component)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

#: The row number of each record as a spreadsheet shows it (the header is row 1).
ROW = "sdmx_row"
#: The action of each record: M (merge), R (replace), D (delete), or null for the load's default.
ACTION = "sdmx_action"


@dataclass
class IncomingData:
    table: pa.Table
    format: str

    @property
    def component_ids(self) -> list[str]:
        return [n for n in self.table.column_names if n not in (ROW, ACTION)]
