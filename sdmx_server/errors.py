"""SDMX errors: every failure a client can cause or meet, with its SDMX code and HTTP status.

Raised anywhere (query parsing, negotiation, the store); turned into an SDMX error message in
the client's format by the API layer.
"""

from __future__ import annotations

import re

#: Characters no XML document may hold (and no error message should carry): C0 controls but
#: tab and newlines, surrogates, U+FFFE/U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """Text safe in any error body: characters XML cannot hold shown as \\xNN."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class SdmxError(Exception):
    code = 500
    status = 500
    title = "Internal server error"

    def __init__(self, message: str):
        message = printable(message)
        super().__init__(message)
        self.message = message


class NoResults(SdmxError):
    code, status, title = 100, 404, "No results found"


class Unauthorized(SdmxError):
    code, status, title = 110, 401, "Unauthorized"


class SyntaxError_(SdmxError):
    code, status, title = 140, 400, "Syntax error"


class Forbidden(SdmxError):
    code, status, title = 403, 403, "Forbidden"


class PayloadTooLarge(SdmxError):
    code, status, title = 413, 413, "Request entity too large"


class QueryTooComplex(SdmxError):
    """A query asking for more keys, codes, filter values or list items than the server's
    limits (query/limits.py): a 400 that names the limit, so that the client splits the query."""

    code, status, title = 140, 400, "Query too complex"


class HeadersTooLarge(SdmxError):
    code, status, title = 431, 431, "Request header fields too large"


class TooManyRequests(SdmxError):
    """Over a rate limit (api/limits.py); `retry_after` (seconds) becomes the Retry-After header."""

    code, status, title = 429, 429, "Too many requests"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class UnsupportedMediaType(SdmxError):
    code, status, title = 415, 415, "Unsupported media type"


class Unprocessable(SdmxError):
    """Well-formed but semantically wrong (REST v2: 422)."""

    code, status, title = 422, 422, "Unprocessable content"


class SemanticError(SdmxError):
    code, status, title = 150, 403, "Semantic error"


class NotImplemented_(SdmxError):
    code, status, title = 501, 501, "Not implemented"


class NotAcceptable(SdmxError):
    """No representation the client accepts; `offered` lists what is."""

    code, status, title = 406, 406, "Not acceptable"

    def __init__(self, message: str, offered: list[str]):
        super().__init__(message)
        self.offered = offered


class ServiceUnavailable(SdmxError):
    code, status, title = 503, 503, "Service unavailable"
