"""The test harness itself: what conftest.py works around must stay worked around."""

from __future__ import annotations

import ast
import gc

import pytest


class _RaisesWhenCollected:
    """Garbage in a reference cycle whose finalizer raises, as an unclosed ADBC connection's does."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        raise RuntimeError("raised while being collected")


_SOURCE = "\n".join(f"def f{i}(a, b):\n    return [x + {i} for x in (a, b) if x]" for i in range(400))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ast_parse_survives_a_collection_that_formats_a_traceback():
    # The collector runs inside ast.parse's tree building, a finalizer raises, pytest's hook
    # formats the traceback, which parses again: on CPython 3.11 without conftest.py's guard
    # this raises "SystemError: AST constructor recursion depth mismatch".
    threshold = gc.get_threshold()
    gc.set_threshold(50, 1, 1)
    try:
        for _ in range(30):
            for _ in range(200):
                _RaisesWhenCollected()
            tree = ast.parse(_SOURCE)
            assert len(tree.body) == 400
    finally:
        gc.set_threshold(*threshold)
        gc.collect()
