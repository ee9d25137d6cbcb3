"""What the access tests share: a running server on an empty store of its own, the CLI run
in-process, bearer headers."""

from __future__ import annotations

import sys
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


def run_cli(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """`sdmx-server ARGV` in-process: (exit status, stdout, stderr) as the console script ends."""
    import io

    from sdmx_server.cli import main

    capsys.readouterr()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            code = 1
        else:
            code = exc.code or 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err
