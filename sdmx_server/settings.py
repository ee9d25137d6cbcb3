"""One Settings object, read from the environment.

Every knob the server has is here, with its environment variable, so that an operator finds
them in one place and a test can build its own Settings without touching os.environ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_database_url() -> str:
    return f"sqlite:///{Path('var/sdmx.db').absolute()}"


@dataclass(frozen=True)
class Settings:
    #: SQLAlchemy URL of the store: sqlite:///path (default) or postgresql+psycopg://...
    database_url: str = field(default_factory=_default_database_url)
    #: Where the server keeps files of its own (generated demo data, later uploads).
    data_dir: Path = field(default_factory=lambda: Path("var").absolute())
    #: The agency named as sender in message headers.
    sender_id: str = "SSO"
    #: Observations per column batch, from the database to the writers and from files to the store.
    batch_rows: int = 65_536
    #: Largest data file a load accepts, in bytes; larger files are refused before parsing.
    max_load_bytes: int = 4 * 1024**3
    #: Largest structure file (SDMX-ML or YAML) a load accepts, in bytes.
    max_structure_bytes: int = 256 * 1024**2
    #: How many validation errors a report lists before it only counts them.
    max_reported_errors: int = 1000
    #: What REST v2 answers when a data query matches no data: 404 (default) or 204 (status.md
    #: prefers it, as "an empty but still healthy state"; some clients take it for success).
    no_data_status: int = 404

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        if env.get("SDMX_DATABASE_URL"):
            kwargs["database_url"] = env["SDMX_DATABASE_URL"]
        if env.get("SDMX_DATA_DIR"):
            kwargs["data_dir"] = Path(env["SDMX_DATA_DIR"]).absolute()
        if env.get("SDMX_SENDER_ID"):
            kwargs["sender_id"] = env["SDMX_SENDER_ID"]
        for name, var in (
            ("batch_rows", "SDMX_BATCH_ROWS"),
            ("max_load_bytes", "SDMX_MAX_LOAD_BYTES"),
            ("max_structure_bytes", "SDMX_MAX_STRUCTURE_BYTES"),
            ("max_reported_errors", "SDMX_MAX_REPORTED_ERRORS"),
            ("no_data_status", "SDMX_NO_DATA_STATUS"),
        ):
            if env.get(var):
                kwargs[name] = int(env[var])
        return cls(**kwargs)
