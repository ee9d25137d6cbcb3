"""Kept encoded answers: a repeated full download of an unchanged dataflow is a file copy.

Files under `<data_dir>/answers/`, one per (ETag, content coding); the ETag holds the data
stamps and structure generations the answer was made from (api/conditional.py), so a load or a
structure change makes a new key and the old file is simply never asked for again (and ages
out). A file is written while the first answer streams (a tee of the encoded bytes) into a
temporary name, and renamed into place only when the whole answer was sent: a failed or
aborted answer never becomes a kept one. Several server processes share the folder: renames
are atomic and the size bound is enforced by whoever commits, from the folder's listing,
least recently used first (a hit touches its file).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from pathlib import Path

log = logging.getLogger("sdmx_server.api")

SUFFIX = ".answer"
#: How long a claim to produce an answer holds before others take it over.
CLAIM_SECONDS = 600


class AnswerCache:
    def __init__(self, directory: Path, max_bytes: int, min_bytes: int = 256 * 1024):
        self.directory = directory
        self.max_bytes = max_bytes
        #: Answers smaller than this are not kept (see CacheWriter).
        self.min_bytes = min_bytes

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def path(self, key: str) -> Path:
        return self.directory / (hashlib.blake2b(key.encode(), digest_size=20).hexdigest() + SUFFIX)

    def open(self, key: str):
        """An open binary file of the kept answer, or None. Opened before use, so that an
        eviction by another process while it is sent cannot cut it short."""
        if not self.enabled:
            return None
        path = self.path(key)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            return None
        try:
            os.utime(path)  # recently used: evicted last
        except OSError:
            pass
        return handle

    def claim(self, key: str) -> bool:
        """Whether this request is to produce the answer (True), or another request, in any
        server process, is producing it now (False): then wait for its file (`wait_for`)
        rather than compute the same bytes again. A claim older than CLAIM_SECONDS is stale
        (its process died) and is taken over."""
        if not self.enabled:
            return True
        lock = self._lock(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return True
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > CLAIM_SECONDS:
                    os.replace(self._touched(lock), lock)
                    return True
            except OSError:
                pass
            return False
        except OSError:
            return True

    def release(self, key: str) -> None:
        try:
            os.unlink(self._lock(key))
        except OSError:
            pass

    def producing(self, key: str) -> bool:
        return self._lock(key).exists()

    def _lock(self, key: str) -> Path:
        return self.path(key).with_suffix(".producing")

    def _touched(self, lock: Path) -> Path:
        fresh = lock.with_suffix(f".{uuid.uuid4().hex}.tmp")
        fresh.touch()
        return fresh

    def writer(self, key: str) -> "CacheWriter | None":
        if not self.enabled:
            return None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            return CacheWriter(self, key)
        except OSError as exc:
            log.warning("cannot keep answers in %s: %s", self.directory, exc)
            return None

    def evict(self, keep: Path | None = None) -> None:
        """Delete the least recently used files until the folder fits its bound."""
        files = []
        total = 0
        for entry in os.scandir(self.directory):
            if not entry.name.endswith(SUFFIX):
                continue
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue
            files.append((stat.st_mtime, entry.path, stat.st_size))
            total += stat.st_size
        files.sort()
        for _, path, size in files:
            if total <= self.max_bytes:
                break
            if keep is not None and path == str(keep):
                continue
            try:
                os.unlink(path)
                total -= size
            except FileNotFoundError:
                pass


class CacheWriter:
    """The tee: encoded chunks go to a temporary file; commit() keeps it, abort() drops it.
    Answers smaller than the cache's min_bytes are not kept: producing them again costs less than a
    file; they stay in memory until they pass that size and are dropped at the end."""

    def __init__(self, cache: AnswerCache, key: str):
        self.cache = cache
        self.final = cache.path(key)
        self.temp = cache.directory / f".{uuid.uuid4().hex}.tmp"
        self.handle = None
        self.pending: list[bytes] = []
        self.size = 0
        self.failed = False

    def write(self, data) -> None:
        if self.failed:
            return
        self.size += len(data)
        if self.size > self.cache.max_bytes:  # would not fit even alone: not kept
            self.abort()
            return
        try:
            if self.handle is None:
                self.pending.append(bytes(data))
                if self.size >= self.cache.min_bytes:
                    self.handle = open(self.temp, "wb")
                    self.handle.writelines(self.pending)
                    self.pending = []
            else:
                self.handle.write(data)
        except OSError as exc:  # a full disk must not fail the answer itself
            log.warning("answer not kept: %s", exc)
            self.abort()

    def commit(self) -> None:
        if self.failed or self.handle is None:
            self.abort()
            return
        try:
            self.handle.close()
            os.replace(self.temp, self.final)
            self.cache.evict(keep=self.final)
        except OSError as exc:
            log.warning("answer not kept: %s", exc)
            self.abort()

    def abort(self) -> None:
        self.failed = True
        self.pending = []
        if self.handle is None:
            return
        try:
            self.handle.close()
        except OSError:
            pass
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass


def sweep_temporaries(directory: Path, older_than: float = 3600) -> None:
    """Temporary files left by a process that died mid-answer."""
    if not directory.is_dir():
        return
    limit = time.time() - older_than
    for entry in os.scandir(directory):
        if entry.name.endswith(".tmp"):
            try:
                if entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass
