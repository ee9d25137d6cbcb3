"""A pull from a unit's own database: its query, in its own table and column names, streamed.

MariaDB and PostgreSQL have faster paths (sql_packed.py, sql_copy.py); otherwise, and when
those do not apply, rows come through SQLAlchemy with a server-side cursor (`stream_results`,
`yield_per`) in batches of `batch_size`, so that a unit's million rows never sit in the
driver's buffer at once, and each batch is turned into Arrow columns straight away (one tuple
per fetched row is what the drivers give; Arrow builds each column from the batch without a
Python object per value kept). Connecting waits at most `connect_timeout` seconds. Every failure becomes a PullError
whose message says what to fix, never the driver's traceback.
"""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL

from sdmx_server.sources.raw import PullError, RawData
from sdmx_server.sources.secrets import MissingSecret, resolve_url
from sdmx_server.sources.spec import SourceSpec
from sdmx_server.sources.sql_copy import pull_copy
from sdmx_server.sources.sql_packed import pull_packed


def pull_sql(spec: SourceSpec, environ: dict[str, str] | None = None) -> RawData:
    try:
        url = resolve_url(spec.url or "", spec.credentials, environ)
    except MissingSecret as exc:
        raise PullError(str(exc)) from None
    except sa.exc.ArgumentError as exc:
        raise PullError(f"the url is not a SQLAlchemy URL: {exc}") from None
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        from pathlib import Path

        if not url.database or not Path(url.database).is_file():
            raise PullError(f"{shown}: there is no database file {url.database!r}")
    try:
        engine = sa.create_engine(url, connect_args=_connect_args(url, spec.connect_timeout), poolclass=sa.NullPool)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise PullError(f"cannot use {shown}: {exc}") from None
    try:
        return _pull(engine, spec, shown)
    finally:
        engine.dispose()


def _pull(engine: sa.Engine, spec: SourceSpec, shown: str) -> RawData:
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise PullError(f"cannot connect to {shown}: {_reason(exc)}") from None
    try:
        if engine.dialect.name in ("mysql", "mariadb"):
            table = pull_packed(connection, spec.query or "", spec.batch_size, lambda q: _literal(engine, q))
            if table is not None:
                return RawData(table, pa.array(range(1, table.num_rows + 1), pa.int64()), "the query",
                               strict_columns=True)
            connection.rollback()  # whatever the shortcut began, the ordinary pull starts clean
        elif engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
            table = pull_copy(connection, spec.query or "")
            if table is not None:
                return RawData(table, pa.array(range(1, table.num_rows + 1), pa.int64()), "the query",
                               strict_columns=True)
        try:
            streaming = connection.execution_options(stream_results=True, yield_per=spec.batch_size)
            result = streaming.exec_driver_sql(_literal(engine, spec.query or ""))
        except sa.exc.DBAPIError as exc:
            raise PullError(f"the query failed on {shown}: {_reason(exc)}") from None
        names = list(result.keys())
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise PullError(f"the query returns the column(s) {', '.join(duplicates)} more than once; "
                            "give each an alias of its own")
        batches: list[list[pa.Array]] = []
        try:
            for partition in result.partitions():
                # One column per result column, built from the batch: Arrow infers the type
                # (numbers stay numbers, so the fingerprint and the scaling see the real values).
                columns = list(zip(*partition))
                batches.append([_array(c) for c in columns])
        except sa.exc.DBAPIError as exc:
            raise PullError(f"the query failed while reading rows from {shown}: {_reason(exc)}") from None
    finally:
        connection.close()
    table = _table(names, batches)
    return RawData(table, pa.array(range(1, table.num_rows + 1), pa.int64()), "the query", strict_columns=True)


def _literal(engine: sa.Engine, query: str) -> str:
    """The query as the driver must be handed it: drivers with %-placeholders (pymysql,
    psycopg) read a lone % (LIKE 'IR-%') as one, so it is doubled."""
    if engine.dialect.paramstyle in ("format", "pyformat"):
        return query.replace("%", "%%")
    return query


def _array(values: tuple) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed types in one column (SQLite's loose typing): keep each value as text.
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _table(names: list[str], batches: list[list[pa.Array]]) -> pa.Table:
    if not batches:
        return pa.table({n: pa.array([], pa.string()) for n in names})
    columns = []
    for index, name in enumerate(names):
        parts = [batch[index] for batch in batches]
        types = {p.type for p in parts if p.type != pa.null()}
        if len(types) > 1:
            # A column typed differently from one batch to the next (nulls first, or ints then
            # floats): text is what the mapping reads anyway.
            parts = [p.cast(pa.string()) for p in parts]
        elif types:
            target = types.pop()
            parts = [p.cast(target) if p.type == pa.null() else p for p in parts]
        columns.append(pa.chunked_array(parts))
    return pa.table(columns, names=names)


def _connect_args(url: URL, timeout: float) -> dict:
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": max(1, int(timeout))}
    if backend == "postgresql":
        return {"connect_timeout": max(1, int(timeout))}
    if backend == "sqlite":
        return {"timeout": timeout}
    return {}


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The database's own words, without SQLAlchemy's wrapping and links."""
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else str(exc)
    return " ".join(text.split())[:500]
