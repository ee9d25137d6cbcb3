"""The audit log out and in, its hash chain unbroken.

Entries are written as JSON lines like the other tables (ops/backup/rows.py) and restored
with their numbers, times and hashes as they were, so every hash still matches. The chain
head only moves one step at a time (its database trigger refuses anything else, access/audit.py),
so the restore moves it once per entry it inserts, in the same transaction: the log and its
head never disagree, and the triggers stay as they are.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from sdmx_server.access.audit import HEAD_ID, AuditEntry, AuditHead
from sdmx_server.ops.backup.rows import read_lines, write_table
from sdmx_server.store.database import Database

FILE = "tables/sdmx_audit.jsonl"


def write_audit(db: Database, path: Path) -> int:
    return write_table(db, AuditEntry.__table__, path)


def restore_audit(db: Database, path: Path) -> int:
    entries, head = AuditEntry.__table__, AuditHead.__table__
    count = 0
    with db.engine.begin() as conn:
        seq = conn.execute(sa.select(head.c.seq).where(head.c.id == HEAD_ID)).scalar_one()
        if seq != 0:
            raise ValueError(f"the audit log of the target database already has {seq} entries")
        step = sa.update(head).where(head.c.id == HEAD_ID).values(seq=sa.bindparam("new_seq"),
                                                                  hash=sa.bindparam("new_hash"))
        for page in read_lines(path, entries):
            for row in page:
                if row["id"] != seq + 1:
                    raise ValueError(f"audit entry {row['id']} follows entry {seq}: the exported log has a gap")
                seq = row["id"]
            conn.execute(sa.insert(entries), page)
            conn.execute(step, [{"new_seq": r["id"], "new_hash": r["hash"]} for r in page])
            count += len(page)
    return count
