"""Test-only: who a request is, without credentials (the app itself never trusts a header).

`as_principal(app, pick)` wraps the app's router (innermost, after every middleware, the
authentication one included): `pick(scope)` gives the request's principal, or None to leave
the one the app's middleware found. Tests that predate permissions write as `WRITER` (`writes`),
who may do anything, as the command line may, and read as the public; tests of access choose a principal per request by the
`X-Test-Principal` header with `by_header`. Grants are set with `granting`.
"""

from __future__ import annotations

from contextlib import contextmanager

from sdmx_server.access.principal import Principal

#: Everything, as the command line: for tests of writes that are not about permissions.
WRITER = Principal(name="test-writer", method="cli")
HEADER = b"x-test-principal"


def writes(scope):
    """WRITER for requests that write (POST, PUT, DELETE); reads stay the public's."""
    return WRITER if scope.get("method") not in ("GET", "HEAD", "OPTIONS") else None


class _AsPrincipal:
    def __init__(self, router, pick):
        self._router = router
        self._pick = pick

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            principal = self._pick(scope)
            if principal is not None:
                scope["user"] = principal
        await self._router(scope, receive, send)

    def __getattr__(self, name):
        return getattr(self._router, name)


def as_principal(app, pick):
    """The app, every request of which is `pick(scope)`'s principal (a Principal, or None)."""
    if not callable(pick):
        fixed = pick
        pick = lambda scope: fixed  # noqa: E731
    app.router = _AsPrincipal(app.router, pick)
    app.middleware_stack = None  # built again, around the wrapped router
    return app


def by_header(principals: dict[str, Principal]):
    """Pick the principal the X-Test-Principal header names (none: leave it)."""
    def pick(scope):
        for name, value in scope.get("headers", ()):
            if name == HEADER:
                return principals[value.decode()]
        return None
    return pick


@contextmanager
def granting(grants):
    """The grants current_grants answers while the block runs (access/store.py)."""
    from sdmx_server.access import store

    original = store.current_grants
    store.current_grants = lambda db: tuple(grants)
    try:
        yield
    finally:
        store.current_grants = original
