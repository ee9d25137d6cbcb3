"""The demo's first start: structures, data, one embargoed release and the sources of loaders/."""

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
