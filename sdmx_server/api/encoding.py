"""Content codings: which one a client gets (Accept-Encoding), and streaming encoders.

gzip always; zstd and brotli when the client names them and the package is installed
(`zstandard`, `brotli`). Encoders compress chunk by chunk as the writers produce them and flush
once at least FLUSH_BYTES of input went in since the last flush: the client receives a
decodable prefix with every flush, so a large answer keeps streaming, and small writer chunks
still compress together.
"""

from __future__ import annotations

import zlib
from typing import Literal

Coding = Literal["identity", "gzip", "zstd", "br"]

#: Input bytes between flushes: large enough for a good ratio, small enough to stream.
FLUSH_BYTES = 256 * 1024
#: Bodies smaller than this go out as they are: compression would save too little to matter.
MIN_BYTES = 1024
#: Media types worth compressing (every SDMX format is text); images and archives are not.
COMPRESSIBLE = ("text/", "application/xml", "application/json", "application/vnd.sdmx", "+xml", "+json", "+csv")

try:
    import zstandard
except ImportError:  # pragma: no cover - an optional speed-up
    zstandard = None
try:
    import brotli
except ImportError:  # pragma: no cover
    try:
        import brotlicffi as brotli  # type: ignore[no-redef]
    except ImportError:
        brotli = None

#: What the server can produce, in its order of preference at equal q: zstd is the fastest to
#: write for a ratio near brotli's; gzip is what every client reads.
AVAILABLE: tuple[Coding, ...] = tuple(
    c for c, ok in (("zstd", zstandard is not None), ("br", brotli is not None), ("gzip", True)) if ok
)


def choose(accept_encoding: str | None) -> Coding:
    """The coding to use (RFC 9110 12.5.3): the highest q among what we produce; identity when
    nothing else is acceptable (a client that refuses identity too still gets it: better than
    a 406 for a body it can always read)."""
    if not accept_encoding:
        return "identity"
    qs: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, *params = [p.strip() for p in part.split(";")]
        if not name:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        qs[name.lower()] = q if 0 <= q <= 1 else 0.0
    best: tuple[float, int] = (0.0, 0)
    chosen: Coding = "identity"
    for rank, coding in enumerate(AVAILABLE):
        q = qs.get(coding, qs.get("x-gzip") if coding == "gzip" else None)
        if q is None:
            q = qs.get("*", 0.0)
        if q > 0 and (q, -rank) > best:
            best, chosen = (q, -rank), coding
    return chosen


def compressible(content_type: str) -> bool:
    content_type = content_type.split(";")[0].strip().lower()
    return any(mark in content_type for mark in COMPRESSIBLE)


class Encoder:
    """Streaming compression of one answer in one coding."""

    def __init__(self, coding: Coding):
        self.coding = coding
        self.pending = 0  # input bytes since the last flush
        if coding == "gzip":
            # Level 5: most of level 9's ratio at twice the speed (the writers are fast).
            self._z = zlib.compressobj(5, zlib.DEFLATED, 31)
        elif coding == "zstd":
            self._z = zstandard.ZstdCompressor(level=3).compressobj()
        elif coding == "br":
            self._z = brotli.Compressor(quality=4)
        else:
            raise ValueError(coding)

    def encode(self, data: bytes) -> bytes:
        """Compressed bytes of this chunk; a flush point once enough input went in."""
        if self.coding == "br":
            out = self._z.process(data)
        else:
            out = self._z.compress(data)
        self.pending += len(data)
        if self.pending >= FLUSH_BYTES:
            self.pending = 0
            out += self._flush()
        return out

    def _flush(self) -> bytes:
        if self.coding == "gzip":
            return self._z.flush(zlib.Z_SYNC_FLUSH)
        if self.coding == "zstd":
            return self._z.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return self._z.flush()

    def finish(self) -> bytes:
        return self._z.finish() if self.coding == "br" else self._z.flush()
