"""`sdmx-server serve` as a process of its own, for the tests that drive it as users do."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable

import httpx


def wait_until_it_answers(process: subprocess.Popen, url: str, log: Path, deadline: float = 60,
                          ready: Callable[[], bool] = lambda: True) -> None:
    """Until `url` answers 200 (and `ready()`); fails with the server's output if it ends or the
    deadline passes first."""
    stop = time.monotonic() + deadline
    while True:
        assert process.poll() is None, f"the server ended with {process.returncode}:\n{log.read_text()}"
        assert time.monotonic() < stop, f"no answer from {url} after {deadline} s:\n{log.read_text()}"
        try:
            if httpx.get(url, timeout=5).status_code == 200 and ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
