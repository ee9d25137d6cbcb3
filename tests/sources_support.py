"""Shared by the tests of sources (tests/test_sources_*.py): a store holding tests/content,
source files written as a unit's statistician writes them, the served data as a frame, and the
oracle's own Solar Hijri periods (jdatetime, not the code under test)."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from pathlib import Path

import httpx
import jdatetime
import pandas as pd
import sqlalchemy as sa

from sdmx_server.boot import create_schema
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.sources.spec import read_source
from sdmx_server.sources.state import ensure_state_tables
from sdmx_server.sources.sync import current_registry
from sdmx_server.store.database import Database
from sdmx_server.store.records import LoadRecord
from tests.datasets import CONTENT

CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
#: The unit's province names (as its staff type them) and the AREA codes of tests/content.
OSTAN = {"تهران": "IR-23", "اصفهان": "IR-10", "آذربایجان شرقی": "IR-03"}


@dataclass
class Store:
    db: Database
    settings: Settings

    @property
    def registry(self):
        return current_registry(self.db)


def make_store(url: str, directory: Path) -> Store:
    settings = Settings(database_url=url, data_dir=directory)
    db = Database(url)
    create_schema(db)
    outcome = load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings)
    assert outcome.ok, outcome.errors
    ensure_state_tables(db)
    return Store(db, settings)


def write_spec(directory: Path, name: str, text: str):
    """A source file in `directory`, read back as the server reads it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    spec, errors = read_source(path)
    assert spec is not None, [str(e) for e in errors]
    return spec


def hijri_month_range(year: int, month: int) -> str:
    """The oracle: a Solar Hijri month as an SDMX time range, by jdatetime."""
    start = jdatetime.date(year, month, 1).togregorian()
    following = jdatetime.date(year + (month == 12), month % 12 + 1, 1).togregorian()
    return f"{start.isoformat()}/P{(following - start).days}D"


def served(base_url: str, flow: tuple[str, str, str], key: str = "all") -> pd.DataFrame:
    r = httpx.get(f"{base_url}/rest/data/{flow[0]},{flow[1]},{flow[2]}/{key}", headers={"Accept": CSV}, timeout=60)
    if r.status_code == 404:
        return pd.DataFrame(columns=["FREQ", "AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS"])
    assert r.status_code == 200, r.text
    return pd.read_csv(io.StringIO(r.text), dtype=str, keep_default_na=False)


def loads(db: Database) -> list[dict]:
    table = LoadRecord.__table__
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).mappings().all()
    return [dict(r) for r in rows]


def comparable(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df[columns].copy()
    out["OBS_VALUE"] = out["OBS_VALUE"].astype(float)
    return out.sort_values([c for c in columns if c != "OBS_VALUE"]).reset_index(drop=True)
