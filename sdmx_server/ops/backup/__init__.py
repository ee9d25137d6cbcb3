"""Export and restore: the whole store as files, and back into an empty database.

    sdmx-server export DIR     # DIR: new or empty
    sdmx-server import DIR     # into the (empty) database of SDMX_DATABASE_URL

An export folder:

    manifest.json                 versions, counts, a SHA-256 per file (manifest.py)
    structures/<kind>/*.xml       every structure as SDMX-ML 3.0 (2.1 where 3.0 cannot say it)
    data/<table>.csv              each dataflow's current observations, SDMX-CSV 2.0 (data.py)
    data/<table>.history.csv      and their earlier versions, with transaction times
    tables/<table>.jsonl          the registry's stored artefacts and their history, load records,
                                  fact table records, embargoed loads, users, groups, tokens
                                  (hashes only), grants, source states, the audit log (rows.py)

Between two databases of either kind (SQLite, PostgreSQL): the files say values, not a
database's storage. See docs/operations-export.md.
"""

from sdmx_server.ops.backup.export import export_store
from sdmx_server.ops.backup.manifest import ExportError
from sdmx_server.ops.backup.restore import NotEmpty, import_store

__all__ = ["ExportError", "NotEmpty", "export_store", "import_store"]
