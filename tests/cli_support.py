"""The `sdmx-server` command run in-process, as the console script ends it."""

from __future__ import annotations

import sys


def run_cli(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """`sdmx-server ARGV` in-process: (exit status, stdout, stderr), as the console script ends.

    A SystemExit carrying a message ends the console script with status 1 and the message on
    stderr; that is what the user sees, so that is what this returns. `stdin`: what the command
    reads from standard input (needs `monkeypatch`).
    """
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
