"""The demo's first start: structures, data, one embargoed release, the sources of loaders/ and
the demo's users (an administrator, a statistics-office user, a provincial user)."""

from __future__ import annotations

import os
import sys

from sdmx_server.cli.common import REPO_ROOT, _database, _load_one, load_structures_audited, parse_flow
from sdmx_server.settings import Settings


def seed_demo(settings: Settings) -> None:
    """Load the demo structures and data into an empty store (a store with structures is left alone)."""
    from sdmx_server.demo.generator import write_demo_data
    from sdmx_server.registry.store import read_all

    db = _database(settings)
    stored, _ = read_all(db)
    if stored:
        print("the store already holds structures: demo content not loaded again", file=sys.stderr)
        if demo_users_file(settings).exists():
            print(f"demo users, their passwords and tokens: {demo_users_file(settings)}", file=sys.stderr)
        return
    content = [REPO_ROOT / "codelists", REPO_ROOT / "dsd"]
    print("first start: loading the demo structures ...", file=sys.stderr, flush=True)
    outcome = load_structures_audited(db, content, settings)
    if not outcome.ok:
        for error in outcome.errors:
            print(error, file=sys.stderr)
        raise SystemExit("the demo structures do not load; see above")
    for demo_file in write_demo_data(settings.data_dir / "demo-data"):
        flow = parse_flow(demo_file.flow)
        if not _load_one(db, flow, demo_file.path, "merge", settings):
            raise SystemExit(f"the demo data for {demo_file.flow} do not load; see above")
    _seed_embargoed_release(db, settings)
    _seed_demo_sources(db, settings)
    _seed_demo_users(db, settings)


#: The demo's embargoed release: the final figures of the dashboard's last quarter, published
#: this many days after the demo store is made (demo README: "one release is embargoed until a
#: future date").
DEMO_EMBARGO_DAYS = 30


def _seed_embargoed_release(db, settings: Settings) -> None:
    """The final figures of DF_KPI's last quarter (published provisional; 2 % higher, status
    A), validated now and kept pending until DEMO_EMBARGO_DAYS from now (store/embargo.py)."""
    from datetime import datetime, timedelta, timezone

    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    source = settings.data_dir / "demo-data" / "DF_KPI.csv"
    table = pacsv.read_csv(source, convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
    periods = table.column("TIME_PERIOD")
    last = pc.max(periods).as_py()
    table = table.filter(pc.equal(periods, last))
    table = table.set_column(table.schema.get_field_index("OBS_VALUE"), "OBS_VALUE",
                             pc.round(pc.multiply(table.column("OBS_VALUE"), 1.02), 2))
    table = table.set_column(table.schema.get_field_index("OBS_STATUS"), "OBS_STATUS",
                             pa.array(["A"] * table.num_rows))
    path = settings.data_dir / "demo-data" / "DF_KPI_embargoed.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    release_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=DEMO_EMBARGO_DAYS)
    if not _load_one(db, parse_flow("SSO:DF_KPI(1.0)"), path, "merge", settings, release_at=release_at):
        raise SystemExit("the demo's embargoed release does not load; see above")


def _seed_demo_sources(db, settings: Settings) -> None:
    """The demo's sources: the Isfahan office's database (a SQLite stand-in) written, and every
    source of loaders/ synced once, as the scheduler will go on doing."""
    from sdmx_server.demo.units import write_unit_database
    from sdmx_server.sources.spec import read_sources
    from sdmx_server.sources.sync import current_registry, sync_source

    write_unit_database(settings.data_dir / "units" / "isfahan.db")
    specs, errors = read_sources(REPO_ROOT / "loaders")
    for error in errors:
        print(error, file=sys.stderr)
    environ = {"SDMX_DATA_DIR": str(settings.data_dir), **os.environ}
    for spec in specs:
        outcome = sync_source(db, current_registry(db), spec, settings, environ)
        print(f"source {spec.id}: {outcome.status}: {outcome.message}", file=sys.stderr)
        for line in outcome.lines[:20]:
            print(f"{spec.path}: {line}", file=sys.stderr)


#: The demo's principals (README "Users, tokens and grants"): name, groups, what they are.
DEMO_USERS = (
    ("admin", (), "administrator: every action, users, tokens and grants"),
    ("office", ("office",), "statistics office: reads internal and restricted flows and embargoed values, "
                            "uploads, maintains structures"),
    ("isfahan", ("province-ir-10",), "Isfahan directorate: reads its own province (IR-10) of the internal "
                                     "DF_CONTRIBUTIONS, uploads only rows of IR-10"),
)
#: Their grants, as `sdmx-server grant` takes them. DF_KPI_NORMS and DF_KPI_STATUS (derived from
#: it) are restricted: only a grant that names them opens them (SSO:* does not).
DEMO_GRANTS = (
    ("user:admin", "admin", "*"),
    ("group:office", "read", "SSO:*"),
    ("group:office", "read", "SSO:DF_KPI_NORMS"),
    ("group:office", "read", "SSO:DF_KPI_STATUS"),  # the statuses carry the norms: restricted too
    ("group:office", "read-embargoed", "SSO:*"),
    ("group:office", "read-embargoed", "SSO:DF_KPI_NORMS"),
    ("group:office", "upload", "SSO:*"),
    ("group:office", "maintain", "SSO:*"),
    ("group:province-ir-10", "read", "SSO:DF_CONTRIBUTIONS(1.0)", "--where", "PROVINCE=IR-10"),
    ("group:province-ir-10", "upload", "SSO:DF_CONTRIBUTIONS(1.0)", "--where", "PROVINCE=IR-10"),
    ("group:province-ir-10", "upload", "SSO:DF_INSURED(1.0)", "--where", "PROVINCE=IR-10"),
)
DEMO_USERS_FILE = "demo-users.txt"


def _seed_demo_users(db, settings: Settings) -> None:
    """The demo's users, grants and one API token each, audited as the command line's, as the
    CLI verbs make them. Their passwords are made here, at random, and written with the tokens to
    DEMO_USERS_FILE in the data dir (readable by its owner only): the repository holds no secret."""
    import secrets
    import socket

    from sdmx_server.access import audit
    from sdmx_server.access.accounts import add_user
    from sdmx_server.access.grants import add_grant
    from sdmx_server.access.principal import COMMAND_LINE
    from sdmx_server.access.rules import Grant, Scope, parse_where
    from sdmx_server.access.tokens import create_token

    def audited(action: str, target: str, details: dict) -> None:
        audit.record(db, actor=COMMAND_LINE, action=action, target=target, outcome="ok",
                     address=socket.gethostname(), details=details)

    lines = ["# The demo's users (demo only: made at random when the demo store was made).",
             "# Try: curl -H 'Authorization: Bearer TOKEN' http://127.0.0.1:8000/rest/dataflow",
             "# or log in at /auth/login with the name and password.", ""]
    for name, groups, what in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        add_user(db, name, groups=list(groups), password=password)
        audited("user.add", f"user:{name}", {"groups": list(groups)})
        token, row = create_token(db, name, description="demo", created_by=COMMAND_LINE.identity)
        audited("token.create", f"user:{name}", {"token": row.id, "expires": None})
        lines += [f"{name}: {what}", f"  groups:   {', '.join(groups) or '-'}", f"  password: {password}",
                  f"  token:    {token}", ""]
    for subject, action, scope, *where in DEMO_GRANTS:
        grant = Grant(subject, action, Scope.parse(scope), parse_where(where[1::2]))
        row, _ = add_grant(db, grant, COMMAND_LINE.identity)
        audited("grant.add", str(grant), {"id": row.id})
    path = demo_users_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"demo users (admin, office, isfahan), their passwords and tokens: {path}", file=sys.stderr)


def demo_users_file(settings: Settings):
    return settings.data_dir / DEMO_USERS_FILE
