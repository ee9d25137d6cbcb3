"""Sources: the units' own data, pulled into the server through one load pipeline.

A source is a YAML file in `loaders/` (docs/sources.md): a unit's CSV or Excel file with a
mapping, or a query of its own database. Modules, from the bottom up:

- spec.py: reading a source file, every problem as `file:line: message`;
- calendar.py, periods.py: Solar Hijri and Gregorian periods as SDMX periods;
- secrets.py: URLs and credentials from environment variables;
- text.py: Persian text made comparable (digits, Arabic letters, spaces);
- files.py, sql.py (faster paths: sql_packed.py for MariaDB, sql_copy.py for PostgreSQL):
  pulls, to `RawData` (raw.py);
- mapping.py: the unit's rows as `IncomingData`, the readers' hand-over to validation;
- state.py: each source's last success, failure and fingerprint; the scheduler's lease;
- sync.py: one sync, through `ingest.load.load_incoming`;
- schedule.py: the background scheduler of `serve`.
"""

from __future__ import annotations

import os
from pathlib import Path


def sources_dir(environ: dict[str, str] | None = None) -> Path:
    """The folder of source files: SDMX_LOADERS_DIR, else ./loaders."""
    env = os.environ if environ is None else environ
    return Path(env.get("SDMX_LOADERS_DIR") or "loaders")
