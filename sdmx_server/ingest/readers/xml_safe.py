"""Untrusted XML, streamed: what every SDMX-ML data reader opens its file through.

A data message may be an upload from anyone. It is parsed with lxml's iterparse and a parser
that never fetches (no network), never loads a DTD, never resolves external entities and never
builds huge nodes, as registry/sdmxml.py parses structure messages. libxml2 still substitutes
internal entities in attribute values whatever `resolve_entities` says, so a document that
declares a DTD at all (the only way to declare an entity; SDMX messages never do) is refused
before the parser sees it: its prolog (the bytes before the root element) is read first, and
the parser is then fed that same head followed by the rest of the file, never the file twice.

`sniff` tells the root element (name and namespace) from the head; `detect` and the readers
share it, so that what is detected is what is read.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from lxml import etree

#: How much of a file `sniff` looks at: the prolog and root start tag must fit in it.
HEAD_BYTES = 64 * 1024

_BOM = b"\xef\xbb\xbf"
# The prolog: an XML declaration, then comments, processing instructions and white space.
_PROLOG = re.compile(rb"\s*(?:<\?xml\b.*?\?>)?(?:\s+|<!--.*?-->|<\?.*?\?>)*", re.S)
_ROOT = re.compile(rb"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)([^>]*)>?", re.S)
_XMLNS = re.compile(rb"""xmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")


class XMLRefused(ValueError):
    """The file is not XML the server will parse; the message says why (and where)."""


@dataclass(frozen=True)
class Root:
    name: str  # local name of the root element
    namespace: str | None


def sniff(head: bytes) -> Root | None:
    """The root element of an XML document from its first bytes; None when they hold no
    root start tag (not XML, or a prolog longer than the head). Raises XMLRefused when the
    prolog declares a DTD."""
    text = head[len(_BOM):] if head.startswith(_BOM) else head
    prolog = _PROLOG.match(text)
    rest = text[prolog.end():] if prolog else text
    if rest.startswith(b"<!DOCTYPE"):
        line = text[: prolog.end() if prolog else 0].count(b"\n") + 1
        raise XMLRefused(f"line {line}: the document declares a DTD (<!DOCTYPE>), which SDMX messages never do; refused")
    match = _ROOT.match(rest)
    if match is None or not rest.startswith(b"<") or rest.startswith(b"<!"):
        return None
    prefix = match.group(1)
    namespaces = {m.group(1): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _XMLNS.finditer(match.group(3))}
    namespace = namespaces.get(prefix)
    return Root(match.group(2).decode("ascii", "replace"),
                namespace.decode("utf-8", "replace") if namespace is not None else None)


class _Replay(io.RawIOBase):
    """A file read from its start again: the head already read, then the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                out = bytes(self._head) + self._stream.read()
                self._head = memoryview(b"")
                return out
            out = bytes(self._head[:size])
            self._head = self._head[size:]
            return out
        return self._stream.read(size if size is not None else -1)


class OpenXML:
    """A source (a path or an open binary file) opened for streaming: `root` from its head,
    `events()` through the hardened parser. Use as a context manager: a path is closed after."""

    def __init__(self, source: Path | BinaryIO):
        if isinstance(source, (str, Path)):
            self._file: BinaryIO = open(source, "rb")
            self._owned = True
        else:
            self._file, self._owned = source, False
        self.head = self._file.read(HEAD_BYTES)
        self.root = sniff(self.head)  # may raise XMLRefused

    @property
    def file(self) -> BinaryIO:
        """The file itself (sdmx_ml_stream.py scans its bytes in place)."""
        return self._file

    def __enter__(self) -> "OpenXML":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the file, when it was opened here (a path)."""
        if self._owned:
            self._file.close()

    def events(self, tags: tuple[str, ...]) -> Iterator[tuple[str, etree._Element]]:
        """("end", element) for the elements named by `tags` ("{*}Obs", ...): lxml's iterator
        itself, with no generator of ours around it (a million observations pay for every
        layer). It raises etree.XMLSyntaxError for XML that is not well formed: callers wrap
        their loop in `refusing_malformed`."""
        return etree.iterparse(
            _Replay(self.head, self._file), events=("end",), tag=tags,
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
        )


class refusing_malformed:
    """Context manager: lxml's syntax errors become XMLRefused with their line."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if isinstance(exc, etree.XMLSyntaxError):
            raise XMLRefused(syntax_message(exc)) from None
        return False


def syntax_message(exc: etree.XMLSyntaxError) -> str:
    """'line 12: not well-formed XML: ...' from lxml's error, without its own location suffix."""
    text = str(exc.msg if getattr(exc, "msg", None) else exc)
    text = re.sub(r",? \(<string>, line \d+\)$", "", text)
    text = re.sub(r", line \d+, column \d+$", "", text)
    line = exc.lineno or (exc.position[0] if exc.position else None)
    where = f"line {line}: " if line else ""
    return f"{where}not well-formed XML (is the file complete?): {text}"


def release(element: etree._Element) -> None:
    """Free an element that has been read, and the siblings read before it: the tree never
    holds more than the element being read and its ancestors."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
