"""Vectorised text building: whole columns become text in a few Arrow kernels.

A writer describes a line (an XML element, a CSV record) as a concatenation of literal pieces
and columns; the concatenation runs over all rows of a batch at once, and the bytes of the
resulting string array go to the client as they are, without a Python object per observation.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

def join(pieces: Sequence, length: int) -> pa.Array:
    """Concatenate literal strings and string arrays element-wise (nulls must be filled first)."""
    if not any(isinstance(p, (pa.Array, pa.ChunkedArray)) for p in pieces):
        return pa.array(["".join(pieces)] * length, pa.string())
    return pc.binary_join_element_wise(*pieces, "")


def buffer_of(strings: pa.Array) -> memoryview:
    """The characters of all strings of the array, back to back, without a copy."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    if len(strings) == 0:
        return memoryview(b"")
    offsets_type = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    _, offsets_buf, data_buf = strings.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=offsets_type, count=len(strings) + 1, offset=strings.offset * np.dtype(offsets_type).itemsize)
    if data_buf is None:
        return memoryview(b"")
    return memoryview(data_buf)[int(offsets[0]) : int(offsets[-1])]


def _any_byte(values: pa.Array, characters: str) -> bool:
    """Does any string of the array hold one of these (ASCII) characters? One scan of the
    characters buffer, with C's memchr speed, instead of a regex per string."""
    if isinstance(values, pa.ChunkedArray):
        return any(_any_byte(chunk, characters) for chunk in values.chunks)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return True  # not text: let the regex path say
    data = bytes(buffer_of(values))  # bytes.find is memchr; a copy of a batch's text is cheap
    return any(data.find(c.encode()) >= 0 for c in characters)


def xml_escape(values: pa.Array) -> pa.Array:
    """Escape text for an XML attribute value; only done on columns that may need it."""
    if not _any_byte(values, '&<>"\n\r\t'):
        return values
    if not pc.any(pc.match_substring_regex(values, r"[&<>\"\n\r\t]")).as_py():
        return values
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"),
                         ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;")):
        values = pc.replace_substring(values, char, entity)
    return values


def csv_escape(values: pa.Array, separator: str = ",") -> pa.Array:
    """Quote the values that need it (RFC 4180), leave the others as they are."""
    if not _any_byte(values, f'{separator}"\n\r'):
        return values
    special = f'[{separator}"\\n\\r]' if separator != "\\" else '["\\n\\r\\\\]'
    needs = pc.match_substring_regex(values, special)
    if not pc.any(needs).as_py():
        return values
    quoted = join(['"', pc.replace_substring(values, '"', '""'), '"'], len(values))
    return pc.if_else(needs, quoted, values)


def xml_attribute(name: str, values: pa.Array, before: str = "", after: str = "") -> pa.Array:
    """' NAME="value"' per row, '' where the value is missing; `before` and `after` (literal
    text around it, e.g. the element's opening) are joined once per distinct value or run."""
    return per_value(values, lambda v: pc.fill_null(
        pc.binary_join_element_wise(f'{before} {name}="', v, f'"{after}', ""), before + after))


#: Below this many rows a column is turned into text row by row: the shortcuts cost more.
SHORTCUT_ROWS = 4096
#: Rows looked at to guess whether a column repeats its values.
SAMPLE_ROWS = 1024


def per_value(values: pa.Array, function) -> pa.Array:
    """`function(values)` for a function that works row by row (text of each value alone),
    computed once per run of equal neighbours (series keys: a few hundred runs in a batch)
    or once per distinct value (codes), then spread back to every row with one `take`."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    n = len(values)
    if n < SHORTCUT_ROWS or values.null_count:
        return function(values)
    sample = values.slice(0, SAMPLE_ROWS)
    sample_changes = pc.sum(pc.not_equal(sample.slice(1), sample.slice(0, len(sample) - 1))).as_py() or 0
    if sample_changes * 16 <= SAMPLE_ROWS:
        changes = pc.not_equal(values.slice(1), values.slice(0, n - 1))
        runs = (pc.sum(changes).as_py() or 0) + 1
        if runs * 8 <= n:
            flags = changes.to_numpy(zero_copy_only=False)
            index = np.empty(n, dtype=np.int32)
            index[0] = 0
            np.cumsum(flags, out=index[1:])  # the run each row belongs to
            starts = np.empty(n, dtype=bool)
            starts[0] = True
            starts[1:] = flags
            return function(values.filter(pa.array(starts))).take(pa.array(index))
    if len(pc.unique(sample)) * 16 <= SAMPLE_ROWS:
        encoded = values.dictionary_encode()
        if len(encoded.dictionary) * 4 <= n:
            return function(encoded.dictionary).take(encoded.indices)
    return function(values)


def number_text(values: pa.Array) -> pa.Array:
    """Numbers as text: the shortest form that reads back the same, SDMX spellings for NaN/INF."""
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        return values
    text = pc.cast(values, pa.string())
    floating = pa.types.is_floating(values.type)
    if floating and pc.any(pc.is_nan(values)).as_py():
        text = pc.if_else(pc.is_nan(values), "NaN", text)
    if floating and pc.any(pc.is_inf(values)).as_py():
        text = pc.if_else(pc.equal(values, float("inf")), "INF", text)
        text = pc.if_else(pc.equal(values, float("-inf")), "-INF", text)
    return text


def new_series(columns: Sequence[pa.Array], previous: tuple | None) -> tuple[pa.Array, tuple | None]:
    """A boolean per row: does a new series start here? `previous` is the last key of the
    previous batch (None before the first). Returns the mask and this batch's last key."""
    length = len(columns[0]) if columns else 0
    if length == 0:
        return pa.array([], pa.bool_()), previous
    if not columns:
        mask = np.zeros(length, dtype=bool)
        mask[0] = previous is None
        return pa.array(mask), ()
    # Rows 1.. against rows ..n-1 on zero-copy slices; row 0 against the previous batch's last.
    inner = None
    first = previous is None
    for position, column in enumerate(columns):
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        differs = pc.fill_null(pc.not_equal(column.slice(1), column.slice(0, length - 1)), True)
        inner = differs if inner is None else pc.or_(inner, differs)
        if not first:
            value = column[0].as_py()
            first = value is None or value != previous[position]
    starts = pa.concat_arrays([pa.array([first]), inner])
    last = tuple(column[length - 1].as_py() for column in columns)
    return starts, last
