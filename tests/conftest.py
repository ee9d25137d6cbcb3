"""Shared fixtures.

Optional resources (the samples folder, PostgreSQL, MariaDB, Chromium) skip with a reason when
absent, except under CI=true, where their absence fails the run: CI must never go green by
skipping what it was meant to test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def require(available: bool, reason: str) -> None:
    """Skip (or, under CI=true, fail) when a resource the test needs is missing."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def samples_path() -> Path:
    return Path(os.environ.get("SDMX_SAMPLES_DIR") or ROOT.parent / "shared" / "samples")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    path = samples_path()
    require(path.is_dir(), f"the SDMX samples folder is missing ({path}; set SDMX_SAMPLES_DIR)")
    return path
