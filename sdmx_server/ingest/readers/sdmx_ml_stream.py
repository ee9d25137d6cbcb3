"""SDMX-ML data handed over chunk by chunk as it is read, when a scan of the file's bytes
allows it; `read_ml` is what both SDMX-ML readers (structure-specific and generic) run.

Why: a reader that returns one table holds the whole file as Arrow columns, and validating and
storing only start once the last observation is read. Streamed, the load's memory is a chunk,
and reading overlaps what comes after it (the store's writer thread, Arrow's checks).

Two things only the whole message tells stop a stream, and a scan of the bytes (a regular
expression per name, window by window: 1.5 s for 392 MB here, against 45 s to load it) tells
them before the parse starts:
- a Group element: its attributes reach series that may come before it, so they are applied
  by a join over all rows (sdmx_ml.apply_groups) and the message is read whole;
- which components the message gives at all: validation takes the same columns in every batch
  (a component's column, or the lack of it, means something: a mandatory attribute with no
  column, a merge that leaves alone what it does not carry). A component is taken to be given
  where its name is found as the style of the message gives it (`patterns_of`): in
  structure-specific data an attribute (`NAME=` after white space), in generic data a Value's
  id (`id="NAME"`), an ObsValue (the measure) or an ObsDimension (the header's
  dimensionAtObservation). Where a dimension is not found, the message is read whole, so that
  the reader says so as it always has.

The scan may see more than is given (a name in a comment, on a series without observations,
in text): such a component's column is then empty in every row. To the store that is the same
as no column: a merge keeps the stored value where the incoming one is empty, a replace
empties what the file does not give either way, a delete takes an empty value as naming none
(tests/test_readers_ml_stream.py loads such a message both ways). Validation differs only in
its words for a mandatory attribute: empty in every row, rather than no column. The scan must
never see less: a row that gives a component the scan did not find stops the stream with a
file error (only a file with more white space inside an attribute than OVERLAP, or 64 bytes
around a generic id's `=`, could get there).

The scan reads the file's bytes in place (mmap), so it needs a file on disk or in memory whose
encoding writes names as ASCII (UTF-8, Latin-1 and the like); otherwise the message is read
whole, as before.
"""

from __future__ import annotations

import io
import mmap
import re
from typing import Any, Callable, Iterator, Literal

from sdmx_server.ingest.readers import IncomingData, Source
from sdmx_server.ingest.readers.chunked import chunked
from sdmx_server.ingest.readers.sdmx_ml import Columns, Reading, ReadFailed
from sdmx_server.ingest.readers.xml_safe import OpenXML, Root, XMLRefused, refusing_malformed
from sdmx_server.ingest.report import ValidationReport
from sdmx_server.registry.shape import DataShape

#: How a message gives its components: as XML attributes named by their ids (structure-
#: specific), or as Value elements with an id (generic).
Style = Literal["specific", "generic"]

_GROUP = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Group[ \t\r\n/>]")
_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
#: Encodings in which an ASCII name is its ASCII bytes.
_ASCII_SAFE = re.compile(rb"(?i)(utf-?8|us-ascii|ascii|iso-?8859-\d+|latin-?\d|l\d|(windows|cp)-?125\d)$")
_WHITE = b" \t\r\n"
_ID_BEFORE = re.compile(rb"[ \t\r\n]id[ \t\r\n]*=[ \t\r\n]*[\"']$")
_OBS_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ObsValue[ \t\r\n/>]")
_OBS_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ObsDimension[ \t\r\n/>]")
_OBS_VALUE_KEY, _OBS_DIMENSION_KEY = "<ObsValue>", "<ObsDimension>"
_HEADER_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?Header\s*>")
_AT_OBSERVATION = re.compile(rb"""dimensionAtObservation\s*=\s*["']([^"']+)["']""")
#: Hits of a name not preceded by white space (the end of a longer name) looked past before
#: the name is taken to be given (a false "given" costs only an empty column; see above).
_MAX_MISSES = 1000
#: The file is scanned a window at a time, each window's pages let go of once scanned, so
#: that the scan does not hold the file in the process's memory (a multiple of the page size).
WINDOW = 32 << 20
#: How far past its window a match that starts in the window may reach (an attribute's name,
#: white space and `=`). A name the scan misses for more white space than this is caught as
#: the rows are read: the stream then stops with a file error (chunked.py), never drops a value.
OVERLAP = 64 << 10


def read_ml(source: Source, shape: DataShape, report: ValidationReport, label_of: Callable[[Root | None], str],
            reading_of: Callable[[Columns], Reading], style: Style) -> IncomingData | None:
    """An SDMX-ML data message streamed chunk by chunk where a scan of it allows, else read
    whole: what both readers do, given how to tell the message's label from its root (raising
    ReadFailed, the report saying why) and their Reading."""
    try:
        xml = OpenXML(source)
    except XMLRefused as exc:
        report.file_error(str(exc))
        return None
    try:
        label = label_of(xml.root)
        columns = Columns(shape, report)
        reading = reading_of(columns)
        given = foretell(xml, shape, style)
        if given is not None:
            incoming = streamed(xml, reading, columns, given, label)
            xml = None  # (the stream closes it at its end)
            return incoming
        with refusing_malformed():
            reading.read_all(xml)
    except XMLRefused as exc:
        report.file_error(str(exc))
        return None
    except ReadFailed:
        return None
    finally:
        if xml is not None:
            xml.close()
    return columns.incoming(label)


def foretell(xml: OpenXML, shape: DataShape, style: Style = "specific") -> list[str] | None:
    """The ids of the components the message gives (in the DSD's order), or None when it must
    be read whole (a Group, a dimension named nowhere, bytes that cannot be scanned)."""
    head = xml.head.lstrip(b"\xef\xbb\xbf")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        return None  # (UTF-16 or -32: names are not their ASCII bytes)
    if (m := _ENCODING.match(head)) and not _ASCII_SAFE.match(m.group(1)):
        return None
    if not all(c.id.isascii() for c in shape.components):
        return None  # (SDMX ids are ASCII; a name in another script may be other bytes)
    if style == "generic" and _HEADER_END.search(head) is None:
        return None  # (the header's dimensionAtObservation must be known: see below)
    with _bytes_of(xml.file) as data:
        if data is None:
            return None
        found = scan(data, patterns_of([c.id for c in shape.components], style))
    if found is None:
        return None
    if _OBS_VALUE_KEY in found:  # (generic data: ObsValue is the measure's value)
        found.add(shape.measure.id)
    if _OBS_DIMENSION_KEY in found:  # (and ObsDimension, without its id, the header's)
        at_observation = {v.decode("ascii", "replace") for v in _AT_OBSERVATION.findall(head)}
        found |= at_observation or ({shape.time.id} if shape.time is not None else set())
    if any(d not in found for d in shape.all_dimension_ids):
        return None
    return [c.id for c in shape.components if c.id in found]


#: How a message gives a component (named by the key of `patterns`): a pattern whose match
#: starts where the name does, and the check of what comes before it (None: any match).
Hit = Callable[[Any, int], bool]


def patterns_of(names: list[str], style: Style) -> dict[str, tuple[re.Pattern, Hit | None]]:
    """What `scan` looks for: each name as the style gives it; for generic data, also
    whether the message has an ObsValue and an ObsDimension (foretell)."""
    if style == "specific":
        return {name: (re.compile(re.escape(name.encode("ascii")) + rb"[ \t\r\n]*="), _after_white) for name in names}
    patterns: dict[str, tuple[re.Pattern, Hit | None]] = {
        name: (re.compile(re.escape(name.encode("ascii")) + rb"[\"']"), _after_id) for name in names}
    return patterns | {_OBS_VALUE_KEY: (_OBS_VALUE, None), _OBS_DIMENSION_KEY: (_OBS_DIMENSION, None)}


def _after_white(data, at: int) -> bool:
    """Structure-specific: `NAME=` after white space (not the end of a longer name)."""
    return at > 0 and data[at - 1] in _WHITE


def _after_id(data, at: int) -> bool:
    """Generic: `NAME"` right after `id="` (a Value's, an ObsDimension's or a key's id)."""
    return _ID_BEFORE.search(bytes(data[max(0, at - 64):at])) is not None


def scan(data, patterns: dict[str, tuple[re.Pattern, Hit | None]]) -> set[str] | None:
    """The keys of `patterns` found somewhere in `data`, or None when it holds a Group."""
    pending = dict(patterns)
    misses = dict.fromkeys(patterns, 0)
    found: set[str] = set()
    size = len(data)
    for start in range(0, size, WINDOW):
        end = min(size, start + WINDOW)
        stop = min(size, end + OVERLAP)
        if _GROUP.search(data, start, stop):
            return None
        for name, (pattern, hit) in list(pending.items()):
            position = start
            while (m := pattern.search(data, position, stop)) is not None and m.start() < end:
                at = m.start()
                if hit is None or hit(data, at):
                    given = True
                else:  # (the end of a longer name, a value)
                    misses[name] += 1
                    given = misses[name] > _MAX_MISSES
                if given:
                    found.add(name)
                    del pending[name]
                    break
                position = at + 1
        if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            data.madvise(mmap.MADV_DONTNEED, start, end - start)  # (clean file pages: read again if needed)
    return found


class _bytes_of:
    """The whole file's bytes in place (an mmap, or an in-memory file's buffer); None when
    the file is neither (or is empty)."""

    def __init__(self, f):
        self.f, self.view = f, None

    def __enter__(self):
        if isinstance(self.f, io.BytesIO):
            self.view = self.f.getbuffer()
            return self.view
        try:
            self.view = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return None  # (no file descriptor, an empty file, a pipe)
        return self.view

    def __exit__(self, *exc) -> None:
        if self.view is not None:
            self.view.release() if isinstance(self.view, memoryview) else self.view.close()


def streamed(xml: OpenXML, reading: Reading, columns: Columns, given: list[str], label: str) -> IncomingData:
    """The message as IncomingData whose `stream` reads it chunk by chunk, each with the
    columns of `given` (foretell), ROW and ACTION; the file is closed at its end."""
    stream = chunked(_pauses(xml, reading), columns, given, _xml_error, xml.close, "line")
    return IncomingData(None, label, row_label="line", stream=stream)


def _pauses(xml: OpenXML, reading: Reading) -> Iterator[None]:
    with refusing_malformed():
        yield from reading.run(xml)


def _xml_error(exc: Exception) -> str | None:
    return str(exc) if isinstance(exc, XMLRefused) else None
