"""Readers: each turns one kind of source into IncomingData (string columns named by component)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from sdmx_server.store.incoming import ACTION, ROW  # noqa: F401  (the column names readers write)


@dataclass
class IncomingData:
    table: pa.Table
    format: str

    @property
    def component_ids(self) -> list[str]:
        return [n for n in self.table.column_names if n not in (ROW, ACTION)]
