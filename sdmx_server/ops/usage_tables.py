"""The tables of usage statistics (created by boot.py, written by ops/usage.py, read by
ops/usage_report.py).

- `sdmx_usage`: one row per period (a quarter hour) and (surface, route, resource, dataflow, format, consumer,
  status) with the number of requests, bytes sent and seconds spent. Kept: this is what the
  reports read. Empty strings, not NULL, for what a request did not say (they are part of the
  primary key, and NULL never equals NULL).
- `sdmx_usage_latency`: per period and surface, how many requests ended within each latency
  bound (`le_ms`, a fixed ladder): enough for percentiles without keeping each request.
- `sdmx_usage_address`: per period and client address, requests and bytes. The only place a
  raw address is written; rows are deleted once their period began a day ago, so no address is kept
  beyond a day (ops/usage.py `sweep`).

Periods are epoch seconds (UTC) of the period's start, in a BIGINT: the same on SQLite and
PostgreSQL, compared in SQL without time-zone conversion by either driver.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from sdmx_server.store.database import Database


def _key(kind=sa.String) -> sa.Column:
    return sa.Column(kind, primary_key=True, nullable=False)


class UsageRow(SQLModel, table=True):
    __tablename__ = "sdmx_usage"

    period: int = Field(sa_column=_key(sa.BigInteger))
    surface: str = Field(sa_column=_key())
    #: the route's path template, never the raw path (no query strings, no keys)
    route: str = Field(sa_column=_key())
    resource: str = Field(sa_column=_key())
    #: AGENCY:ID(VERSION); "*" when a request read several dataflows at once; "" for none
    dataflow: str = Field(sa_column=_key())
    format: str = Field(sa_column=_key())
    consumer: str = Field(sa_column=_key())
    status: int = Field(sa_column=_key(sa.Integer))
    requests: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    seconds: float = Field(sa_column=sa.Column(sa.Float, nullable=False))


class UsageLatency(SQLModel, table=True):
    __tablename__ = "sdmx_usage_latency"

    period: int = Field(sa_column=_key(sa.BigInteger))
    surface: str = Field(sa_column=_key())
    #: requests that ended within this many milliseconds (and above the bound below it)
    le_ms: int = Field(sa_column=_key(sa.BigInteger))
    requests: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class UsageAddress(SQLModel, table=True):
    __tablename__ = "sdmx_usage_address"

    period: int = Field(sa_column=_key(sa.BigInteger))
    address: str = Field(sa_column=_key())
    requests: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


TABLES = (UsageRow.__table__, UsageLatency.__table__, UsageAddress.__table__)


def create_usage_tables(db: Database) -> None:
    SQLModel.metadata.create_all(db.engine, tables=list(TABLES))


def add_counts(conn: sa.Connection, db: Database, table: sa.Table, rows: list[dict]) -> None:
    """Add the rows' counts to what is stored under the same key (or insert them): several
    server processes flush into the same period's rows, each adding its own counts. In key
    order, so that two processes' flushes lock shared rows in the same order (PostgreSQL would
    otherwise abort one of them as a deadlock)."""
    if not rows:
        return
    insert = (sqlite if db.is_sqlite else postgresql).insert(table)
    keys = [c.name for c in table.primary_key.columns]
    rows = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
    counts = [c.name for c in table.columns if c.name not in keys]
    statement = insert.on_conflict_do_update(
        index_elements=keys, set_={name: table.c[name] + insert.excluded[name] for name in counts})
    conn.execute(statement, rows)
