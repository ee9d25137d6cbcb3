"""The server's logs: one JSON object per line (or plain text for a terminal), every line of a
request carrying its request id.

The request id lives in a context variable that the HTTP middleware (api/observe.py) sets
when a request comes in. Each request runs in its own asyncio task and worker threads run in
a copy of the task's context (anyio), so every log line written while the request is being
answered, in the event loop or in a worker thread, finds the id without being handed it;
lines of the server's own work (embargo releases, the scheduler) have none.

`serve` hands `log_config(...)` to uvicorn, which applies it in every worker process (a
worker started with `--workers N` is a new interpreter: logging set up in the parent would
not reach it).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import datetime, timezone

from sdmx_server.types import LogFormat

#: The id of the request being answered (None outside requests).
REQUEST_ID: ContextVar[str | None] = ContextVar("sdmx_request_id", default=None)

#: The attributes every LogRecord has: what a call adds beyond them (`extra=`) is a field of
#: the JSON line.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "request_id", "request_tag",
    "color_message"}  # uvicorn's message with terminal colours


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record (`%(request_id)s` in text formats)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id
    (when in a request), the fields a call adds with `extra=`, and the exception's traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: time, level, logger, [request id], message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(request_tag)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        record.request_tag = f"[{request_id}] " if request_id else ""
        return super().format(record)


def log_config(log_format: LogFormat, level: str = "INFO") -> dict:
    """A logging.config.dictConfig for the server: everything (uvicorn's own loggers too) to
    standard error in `log_format`. uvicorn's access log is off: api/observe.py writes one
    line per request instead, with the request id, route, status, bytes and time."""
    formatter = {"()": f"{__name__}.{'JsonFormatter' if log_format == 'json' else 'TextFormatter'}"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"server": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "server", "filters": ["request_id"]}},
        "root": {"handlers": ["stderr"], "level": level},
        # uvicorn's loggers would otherwise keep handlers of their own (and print twice).
        "loggers": {**{name: {"handlers": [], "propagate": True, "level": level}
                       for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
                    # a line per HTTP call the scheduler makes is noise beside the access log
                    "httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
    }
