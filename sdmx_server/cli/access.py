"""The access commands: users, tokens, grants.

    sdmx-server users add NAME [--group G]... [--display-name D] [--password-stdin]
    sdmx-server users list [--json] | users remove NAME | users disable NAME | users enable NAME
    sdmx-server tokens create NAME [--expires DURATION] [--description TEXT]
    sdmx-server tokens revoke ID|TOKEN|NAME | tokens list [--user NAME] [--json]
    sdmx-server grant SUBJECT ACTION SCOPE [--where DIM=CODE[+CODE]]...
    sdmx-server revoke SUBJECT ACTION SCOPE [--where ...] | revoke --id N
    sdmx-server access list [--json]

Whoever runs the command line on the server's machine acts as COMMAND_LINE (the database's
owner): this is how the first administrator is made (`users add admin`, then
`grant user:admin admin '*'`). Every change is audited with that actor and the host's name.
`tokens create` prints the new token alone on the last line of stdout (shown once, never again).
"""

from __future__ import annotations

import json
import socket
import sys
from datetime import datetime, timezone

from sdmx_server.access import audit
from sdmx_server.access.accounts import AccountError, add_user, get_user, list_users, remove_user, update_user
from sdmx_server.access.grants import add_grant, grant_json, list_grant_rows, revoke_grant
from sdmx_server.access.principal import COMMAND_LINE
from sdmx_server.access.rules import Grant, GrantError, Scope, parse_subject, parse_where
from sdmx_server.access.tokens import (
    TokenError, create_token, list_tokens, parse_duration, parse_token, revoke_tokens, token_json,
)
from sdmx_server.cli.common import _database
from sdmx_server.settings import Settings
from sdmx_server.types import ACCESS_ACTIONS

_ERRORS = (AccountError, TokenError, GrantError)


def _db():
    return _database(Settings.from_env())


def _audit(db, action: str, target: str, details: dict | None = None) -> None:
    audit.record(db, actor=COMMAND_LINE, action=action, target=target, outcome="ok", address=socket.gethostname(),
                 details=details)


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%MZ")


def _fail(message: str) -> SystemExit:
    return SystemExit(f"sdmx-server: {message}")


def _checked(command):
    """The command's known errors become one line on stderr and status 1."""

    def run(args) -> int:
        try:
            return command(args)
        except _ERRORS as exc:
            raise _fail(str(exc)) from None

    return run


# -- users -------------------------------------------------------------------------------------


def cmd_users_add(args) -> int:
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise _fail("--password-stdin: no password on standard input")
    db = _db()
    user = add_user(db, args.name, display_name=args.display_name or "", groups=args.group, password=password)
    _audit(db, "user.add", f"user:{user.name}", {"groups": list(user.groups)})
    groups = f" in {', '.join(user.groups)}" if user.groups else ""
    print(f"added user {user.name}{groups}{'' if password else ' (no password: tokens only)'}")
    return 0


def cmd_users_list(args) -> int:
    users = list_users(_db())
    if args.json:
        print(json.dumps([u.as_json() for u in users], indent=2, ensure_ascii=False))
        return 0
    for u in users:
        flags = [f for f, on in (("disabled", u.disabled), ("no password", not u.has_password)) if on]
        print(f"{u.name}\t{u.display_name}\tgroups: {', '.join(u.groups) or '-'}" + (f"\t({', '.join(flags)})" if flags else ""))
    if not users:
        print("no users", file=sys.stderr)
    return 0


def cmd_users_remove(args) -> int:
    db = _db()
    revoked = remove_user(db, args.name)
    for row in revoked:
        _audit(db, "grant.revoke", grant_json(row)["rule"], {"id": row.id})
    _audit(db, "user.remove", f"user:{args.name}")
    print(f"removed user {args.name} with their tokens, sessions and {len(revoked)} grant(s)")
    return 0


def cmd_users_disable(args) -> int:
    db = _db()
    disabled = args.verb == "disable"
    update_user(db, args.name, disabled=disabled)
    _audit(db, f"user.{args.verb}", f"user:{args.name}")
    print(f"user {args.name} {'disabled' if disabled else 'enabled'}")
    return 0


# -- tokens ------------------------------------------------------------------------------------


def cmd_tokens_create(args) -> int:
    db = _db()
    seconds = parse_duration(args.expires) if args.expires else None
    text, row = create_token(db, args.name, expires_in=seconds, description=args.description or "",
                             created_by=COMMAND_LINE.identity)
    _audit(db, "token.create", f"user:{args.name}", {"token": row.id, "expires": args.expires})
    until = f", expires {_time(row.expires_at)}" if row.expires_at else ""
    print(f"token {row.id} for user {args.name}{until}; it is shown only now:")
    print(text)
    return 0


def cmd_tokens_revoke(args) -> int:
    db = _db()
    which = args.token.strip()
    parsed = parse_token(which)
    if which.isdigit() or parsed:
        ids = [parsed[0] if parsed else int(which)]
    else:
        if get_user(db, which) is None:
            raise _fail(f"{which!r} is neither a token id nor a user")
        ids = [t.id for t in list_tokens(db, which) if t.revoked_at is None]
    revoked = revoke_tokens(db, ids)
    if not revoked:
        raise _fail(f"no token to revoke for {which!r} (unknown or revoked already)")
    for token_id in revoked:
        _audit(db, "token.revoke", f"token {token_id}")
    print(f"revoked token(s) {', '.join(map(str, revoked))}")
    return 0


def cmd_tokens_list(args) -> int:
    rows = list_tokens(_db(), args.user)
    if args.json:
        print(json.dumps([token_json(r) for r in rows], indent=2, ensure_ascii=False))
        return 0
    for r in rows:
        j = token_json(r)
        print(f"{r.id}\t{r.user_name}\t{j['state']}\tcreated {_time(r.created_at)}\texpires {_time(r.expires_at)}"
              f"\tlast used {_time(r.last_used_at)}" + (f"\t{r.description}" if r.description else ""))
    if not rows:
        print("no tokens", file=sys.stderr)
    return 0


# -- grants ------------------------------------------------------------------------------------


def _grant(args) -> Grant:
    return Grant(parse_subject(args.subject), args.action, Scope.parse(args.scope), parse_where(args.where))


def cmd_grant(args) -> int:
    grant = _grant(args)
    db = _db()
    if grant.subject.startswith("user:") and get_user(db, grant.subject[5:]) is None:
        print(f"note: no local user {grant.subject[5:]} (the grant applies to a JWT user of that name)", file=sys.stderr)
    row, created = add_grant(db, grant, COMMAND_LINE.identity)
    if created:
        _audit(db, "grant.add", str(grant), {"id": row.id})
    print(f"{'granted' if created else 'already granted'} #{row.id}: {grant}")
    return 0


def cmd_revoke(args) -> int:
    db = _db()
    if args.id is not None:
        if args.subject or args.where:
            raise _fail("revoke: either --id N or SUBJECT ACTION SCOPE, not both")
        row = revoke_grant(db, grant_id=args.id)
        what = f"#{args.id}"
    else:
        if not (args.subject and args.action and args.scope):
            raise _fail("revoke: name the grant as SUBJECT ACTION SCOPE [--where ...], or --id N")
        if args.action not in ACCESS_ACTIONS:
            raise _fail(f"action {args.action!r}: expected one of {', '.join(ACCESS_ACTIONS)}")
        grant = _grant(args)
        row = revoke_grant(db, grant)
        what = str(grant)
    if row is None:
        raise _fail(f"no grant {what} (see: sdmx-server access list)")
    body = grant_json(row)
    _audit(db, "grant.revoke", body["rule"], {"id": row.id})
    print(f"revoked #{row.id}: {body['rule']}")
    return 0


def cmd_access_list(args) -> int:
    rows = [grant_json(r) for r in list_grant_rows(_db())]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    for g in rows:
        print(f"#{g['id']}\t{g['rule']}\t(by {g['created_by'] or '-'}, {_time(g['created_at'])})")
    if not rows:
        print("no grants: published (public) dataflows only, for everyone", file=sys.stderr)
    return 0


# -- the parsers -------------------------------------------------------------------------------


def access_parsers(sub) -> None:
    users = sub.add_parser("users", help="users: add, list, remove, disable, enable").add_subparsers(dest="verb", required=True)
    add = users.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--group", action="append", default=[], help="a group of the user (repeat for several)")
    add.add_argument("--display-name", default=None)
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    add.set_defaults(run=_checked(cmd_users_add))
    listing = users.add_parser("list", help="list the users")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_checked(cmd_users_list))
    for verb, run, text in (("remove", cmd_users_remove, "remove a user with their tokens, sessions and grants"),
                            ("disable", cmd_users_disable, "disable a user (their tokens and sessions stop working)"),
                            ("enable", cmd_users_disable, "enable a disabled user")):
        p = users.add_parser(verb, help=text)
        p.add_argument("name")
        p.set_defaults(run=_checked(run))

    tokens = sub.add_parser("tokens", help="API tokens: create, revoke, list").add_subparsers(dest="verb", required=True)
    create = tokens.add_parser("create", help="a new token for a user (printed once, alone on the last line)")
    create.add_argument("name", help="the user")
    create.add_argument("--expires", default=None, metavar="DURATION", help="e.g. 30d, 12h, 90m or ISO 8601 P30D")
    create.add_argument("--description", default=None)
    create.set_defaults(run=_checked(cmd_tokens_create))
    revoke = tokens.add_parser("revoke", help="revoke a token by id (or the token itself), or every token of a user")
    revoke.add_argument("token", metavar="ID|TOKEN|NAME")
    revoke.set_defaults(run=_checked(cmd_tokens_revoke))
    listing = tokens.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--user", default=None)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_checked(cmd_tokens_list))

    where = "narrow to a cube region: DIM=CODE[+CODE] (repeat for several dimensions)"
    grant = sub.add_parser("grant", help="grant SUBJECT ACTION SCOPE (user:NAME|group:NAME|everyone, "
                                         f"{'|'.join(ACCESS_ACTIONS)}, AGENCY:ID(VERSION)|SSO:*|*)")
    grant.add_argument("subject")
    grant.add_argument("action", choices=ACCESS_ACTIONS)
    grant.add_argument("scope")
    grant.add_argument("--where", action="append", default=[], metavar="DIM=CODE[+CODE]", help=where)
    grant.set_defaults(run=_checked(cmd_grant))
    revoke = sub.add_parser("revoke", help="revoke a grant: SUBJECT ACTION SCOPE [--where ...], or --id N")
    revoke.add_argument("subject", nargs="?")
    revoke.add_argument("action", nargs="?")
    revoke.add_argument("scope", nargs="?")
    revoke.add_argument("--where", action="append", default=[], metavar="DIM=CODE[+CODE]", help=where)
    revoke.add_argument("--id", type=int, default=None, help="the grant's number (access list)")
    revoke.set_defaults(run=_checked(cmd_revoke))

    access = sub.add_parser("access", help="access list: every grant").add_subparsers(dest="verb", required=True)
    listing = access.add_parser("list", help="every grant, readable (--json for machines)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_checked(cmd_access_list))
