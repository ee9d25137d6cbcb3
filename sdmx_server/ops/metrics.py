"""Prometheus metrics (prometheus_client): requests, bytes, loads, embargo releases and
structure-index rebuilds, correct across the processes of `serve --workers N`.

Each worker process counts its own requests. prometheus_client's multiprocess mode keeps
every process's values in files of one directory (PROMETHEUS_MULTIPROC_DIR) and /metrics adds
them up, whichever worker answers the scrape. prometheus_client decides between in-memory and
file-backed values when it is imported, so `serve` names a fresh directory
(`prepare_multiprocess`) before anything imports it, and this module imports it, and makes
the metrics, only on first use. Without the variable (tests, one process of one's own), the
values stay in memory and /metrics shows the process's default registry.

Labels are bounded sets only: route templates (never raw paths), format names, statuses,
dataflows (as many as are defined), origins.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from sdmx_server.ops.requests import RequestRecord

log = logging.getLogger("sdmx_server.ops")

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds: from a single-series query to a whole dataflow downloaded by a slow client.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
#: The format label of an answer whose route named none (pages, errors before negotiation).
NO_FORMAT = "none"


@dataclass(frozen=True)
class _Metrics:
    requests: object
    seconds: object
    bytes_sent: object
    loads: object
    releases: object
    rebuilds: object


_metrics: _Metrics | None = None
_lock = threading.Lock()


def metrics() -> _Metrics:
    """The metrics of this process, made (and prometheus_client imported) on first use."""
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _make()
    return _metrics


def _make() -> _Metrics:
    from prometheus_client import Counter, Histogram, disable_created_metrics

    # The *_created samples (a series' first count, per label set) double what a scrape
    # carries and multiprocess mode never has them: the same series with one worker or many.
    disable_created_metrics()
    route = ("method", "route", "format")
    return _Metrics(
        requests=Counter("sdmx_http_requests", "HTTP requests answered, by route template, format and status",
                         (*route, "status")),
        seconds=Histogram("sdmx_http_request_duration_seconds",
                          "Time from a request's arrival until its answer's last byte was sent (or the client left)",
                          route, buckets=LATENCY_BUCKETS),
        bytes_sent=Counter("sdmx_http_response_bytes", "Bytes of answers sent (after compression)", route),
        loads=Counter("sdmx_data_loads", "Data loads that ended, by dataflow, origin and status "
                      "(applied, rejected, failed, validated, pending, released)", ("dataflow", "origin", "status")),
        releases=Counter("sdmx_embargo_releases", "Embargoed loads released (applied at their release time)"),
        rebuilds=Counter("sdmx_structure_index_rebuilds",
                         "Structure index builds: full (first read) or incremental (another process changed structures)",
                         ("kind",)),
    )


# -- what the layers count ------------------------------------------------------------------


def observe_request(record: RequestRecord) -> None:
    """The observer of every answered request (api/observe.py calls it)."""
    m = metrics()
    labels = (record.method, record.route, record.notes.get("format") or NO_FORMAT)
    m.requests.labels(*labels, str(record.status)).inc()
    m.seconds.labels(*labels).observe(record.seconds)
    if record.bytes_sent:
        m.bytes_sent.labels(*labels).inc(record.bytes_sent)


def load_ended(dataflow: str, origin: str, status: str) -> None:
    metrics().loads.labels(dataflow, origin, status).inc()


def released(count: int) -> None:
    if count:
        metrics().releases.inc(count)


def index_rebuilt(kind: str) -> None:
    """kind: "full" (read from scratch) or "incremental" (changes of another process applied)."""
    metrics().rebuilds.labels(kind).inc()


# -- exposition ---------------------------------------------------------------------------------


def exposition() -> tuple[bytes, str]:
    """The text format of every metric (body, content type): in multiprocess mode the sum over
    every process's files, else this process's registry."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    metrics()  # a scrape before any request still lists the metrics (at zero where they have no labels)
    if os.environ.get(ENVIRONMENT):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# -- multiprocess mode (serve) -------------------------------------------------------------------


def prepare_multiprocess(data_dir: Path) -> Path | None:
    """Before uvicorn starts its workers: a fresh directory for this server's metric files,
    data_dir/metrics/serve-PID, named in PROMETHEUS_MULTIPROC_DIR (inherited by the workers).
    Directories of servers no longer running are removed. An operator's own
    PROMETHEUS_MULTIPROC_DIR is kept as it is (None is returned: nothing of ours to remove)."""
    if os.environ.get(ENVIRONMENT):
        return None
    if _metrics is not None:
        # Values made before the variable was set stay in memory: /metrics would miss them.
        raise RuntimeError("metrics were made before multiprocess mode was prepared")
    base = Path(data_dir) / "metrics"
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("serve-*"):
        pid = old.name.removeprefix("serve-")
        if not pid.isdigit() or not _running(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    directory = base / f"serve-{os.getpid()}"
    shutil.rmtree(directory, ignore_errors=True)  # a pid reused since a crash: not our counts
    directory.mkdir()
    os.environ[ENVIRONMENT] = str(directory)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported already (by another package): choose the file-backed values now
        values.ValueClass = values.get_value_class()  # type: ignore[attr-defined]
    return directory


def finish_multiprocess(directory: Path | None) -> None:
    """After the server stopped: its metric files go (counters start again with the next run,
    as Prometheus expects of a restarted target)."""
    if directory is not None:
        os.environ.pop(ENVIRONMENT, None)
        shutil.rmtree(directory, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
