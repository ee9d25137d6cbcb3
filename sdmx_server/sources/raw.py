"""What a pull hands to the mapping: the unit's columns as it named them, with row numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa


class PullError(Exception):
    """The source cannot be read: unreachable, a failing query, a missing file or credential.
    The message is for the person who runs the source, and names what to fix."""


@dataclass
class RawData:
    table: pa.Table  # the unit's columns, as read (text for files, the database's types for SQL)
    rows: pa.Array  # int64: where each row is in the source, as its owner counts it
    where: str  # the file name(s) or "the query", for messages
    #: Several files: how the ROW numbers, which count on across them, map back to each file.
    parts: list[str] = field(default_factory=list)
    strict_columns: bool = False  # SQL: a column the mapping does not expect is an error
