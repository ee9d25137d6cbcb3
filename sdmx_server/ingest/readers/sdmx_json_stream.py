"""SDMX-JSON data read as a stream: a large message is never held whole in memory.

A message names its dimension values by index into the value lists of its `structure`, which
writers may put after `dataSets` (this server's do), and a data set's own members (`action`,
`attributes`, `structure`) may come after its series too. So a message is read in two passes
over the file, both with ijson (its C backend, yajl2_c, when installed: the parsing and the
building of values happen in C):

1. the skeleton: the whole message as objects, but for each data set's `series` and
   `observations` only their number. ijson's builder adds each object to its parent when it
   starts; `_Skeleton` (the builder's map type) then marks a data set's series or observations
   map as dropped, and a dropped map only counts what is added to it, so the observations are
   built and freed one at a time;
2. the data: ijson's `kvitems` over the series (and the observations of flat data sets) of
   every data set in turn, each series built on its own (memory: one series at a time); the
   counts of pass 1 say which data set each belongs to.

The skeleton then goes through the same reading as a message parsed whole (sdmx_json.py
`read_message`), so both read alike; the data is handed over chunk by chunk as pass 2 reads
it (its files stay open until the stream ends), unless group attributes make it read whole.
A map named series or observations outside a data set (SDMX-JSON has none) or a one-way
stream that would need two data streams raise Unstreamable: the message is then parsed whole.
"""

from __future__ import annotations

import itertools
from contextlib import ExitStack
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import ijson

from sdmx_server.ingest.readers import IncomingData
from sdmx_server.ingest.readers.sdmx_json import read_message
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

_BIG = ("series", "observations")


class Unstreamable(Exception):
    """The message cannot be read as a stream; read it whole."""


class _Skeleton(dict):
    """A JSON object of pass 1 (ijson's map type): it keeps its members, but a data set's
    series or observations map only counts the members given to it, and drops them."""

    drop = False
    count = 0

    def __setitem__(self, key: str, value: Any) -> None:
        if self.drop:
            self.count += 1
            if type(value) is _Skeleton:  # a series' own maps go too
                value.drop = True
            return
        if key in _BIG and type(value) is _Skeleton:
            value.drop = True
        dict.__setitem__(self, key, value)


def read_streamed(source: Path | BinaryIO, shape: DataShape, flow: tuple[str, str, str],
                  report: ValidationReport) -> IncomingData | None:
    """The message read in two passes; its data handed over chunk by chunk as the second pass
    reads it where read_message can (the files it reads are then closed at the stream's end)."""
    start = 0 if isinstance(source, (str, Path)) else source.tell()
    files = ExitStack()
    try:
        first = files.enter_context(open(source, "rb")) if isinstance(source, (str, Path)) else source
        try:
            values = ijson.items(first, "", map_type=_Skeleton, use_float=True)
            message = next(values, None)
            next(values, None)  # to the end: what follows the message is an error, as when parsed whole
        except ijson.JSONError as exc:
            report.file_error(_syntax(exc))
            return None
        body = message.get("data") if isinstance(message, dict) and isinstance(message.get("data"), dict) else message
        if not isinstance(body, dict) or not isinstance(body.get("dataSets"), list):
            return read_message(message, shape, flow, report)  # which says what is wrong
        prefix = "data.dataSets.item." if body is not message else "dataSets.item."
        members = _big_members(body)
        if len(members) > 1 and not isinstance(source, (str, Path)):
            raise Unstreamable("series and flat data sets in one stream that can be read only once more")
        streams: dict[str, Iterator[tuple[str, Any]]] = {}
        for member in members:
            if isinstance(source, (str, Path)):
                f = files.enter_context(open(source, "rb"))
            else:
                source.seek(start)
                f = source
            streams[member] = ijson.kvitems(f, prefix + member, use_float=True)

        def pairs(number: int, member: str, value: dict):
            if not isinstance(value, _Skeleton) or not value.drop:
                return value.items()
            return itertools.islice(streams[member], value.count)

        try:
            incoming = read_message(message, shape, flow, report, pairs, close=files.close,
                                    errors=lambda exc: _syntax(exc) if isinstance(exc, ijson.JSONError) else None)
        except ijson.JSONError as exc:  # the second pass met what the first did not (a changed file)
            report.file_error(_syntax(exc))
            return None
        if incoming is not None and incoming.stream is not None:
            files = ExitStack()  # (the stream closes them)
        return incoming
    finally:
        files.close()


def _syntax(exc: Exception) -> str:
    return f"not well-formed JSON (is the file complete?): {_first_line(exc)}"


def _first_line(exc: Exception) -> str:
    """yajl's message, without the lines of the message text it quotes."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _big_members(body: dict) -> list[str]:
    """Which of series and observations the data sets hold (each read as its own stream);
    Unstreamable when a dropped map is anywhere else (counted, so not there to read)."""
    found: dict[str, None] = {}
    for dataset in body["dataSets"]:
        if not isinstance(dataset, dict):
            continue
        for key, value in dataset.items():
            if key in _BIG and isinstance(value, _Skeleton) and value.drop:
                found[key] = None
            elif _holds_dropped(value):
                raise Unstreamable(f"a map named series or observations inside a data set's {key}")
    for key, value in body.items():
        if key != "dataSets" and _holds_dropped(value):
            raise Unstreamable(f"a map named series or observations in {key}")
    return list(found)


def _holds_dropped(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Skeleton):
            if item.drop:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
