"""What the access tests share: a running server on an empty store of its own, bearer headers."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.conftest import fresh_database, running_server


@contextmanager
def empty_server(backend: str, directory: Path, **settings):
    """(the running server, a Database handle on its store) on a fresh database."""
    from sdmx_server.boot import create_schema

    with fresh_database(backend, directory) as url:
        db = Database(url)
        create_schema(db)
        try:
            with running_server(Settings(database_url=url, data_dir=directory, **settings)) as server:
                yield server, db
        finally:
            db.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_with_token(database_url: str, name: str, action: str = "admin", scope: str = "*") -> str:
    """A real user granted `action` on `scope`, and a bearer token of theirs: the headers a
    client sends to write as them (writes need credentials, from any address)."""
    from sdmx_server.access.accounts import add_user
    from sdmx_server.access.grants import add_grant
    from sdmx_server.access.rules import Grant, Scope
    from sdmx_server.access.tokens import create_token

    db = Database(database_url)
    try:
        add_user(db, name)
        add_grant(db, Grant(f"user:{name}", action, Scope.parse(scope)), "test")
        return create_token(db, name)[0]
    finally:
        db.dispose()
