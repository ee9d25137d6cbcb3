"""Where structures live in the database: one row per artefact, holding its stored JSON.

Each maintainable artefact is one row of `sdmx_artefact`: its identification, whether it is
final or an external-reference stub, its access level, the stored form (an SDMX-JSON 2.0
artefact object, see registry/codec) and the URNs it refers to, so that the registry knows
every artefact's parents and children without building a single model object.

Every change is also appended to `sdmx_artefact_change` with the registry generation and the
time it was made: server processes read only the changes since their own generation, and
REST v2's `asOf` reads the registry as it was at a point in time.

Databases made before the stored JSON held SDMX-ML 2.1 fragments in the `xml` column; they
are migrated on start (registry/migrate.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Literal

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from sdmx_server.store.database import Database

Key = tuple[str, str, str, str]  # kind, agency, id, version
ChangeOp = Literal["put", "delete"]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ArtefactRow(SQLModel, table=True):
    __tablename__ = "sdmx_artefact"
    __table_args__ = (sa.UniqueConstraint("kind", "agency", "artefact_id", "version"),)

    pk: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    agency: str
    artefact_id: str
    version: str
    is_final: bool = False
    #: An external-reference stub: only names an artefact maintained elsewhere.
    is_stub: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
    #: public, internal or restricted; only meaningful for dataflows so far.
    access: str = "public"
    #: The file (or "http") the artefact was last loaded from.
    origin: str = ""
    #: The stored form: an SDMX-JSON 2.0 artefact object, as JSON text (UTF-8 bytes).
    body: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    #: The URNs of the maintainable artefacts this one refers to, as a JSON list.
    refs: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    #: The registry generation of the artefact's last change.
    generation: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    #: Before the stored JSON: the artefact as an SDMX-ML 2.1 fragment; kept after migration.
    xml: bytes = Field(default=b"", sa_column=sa.Column(sa.LargeBinary, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def key(self) -> Key:
        return (self.kind, self.agency, self.artefact_id, self.version)


class ArtefactChange(SQLModel, table=True):
    """Every change to a stored artefact, in order: the registry's history."""

    __tablename__ = "sdmx_artefact_change"

    pk: int | None = Field(default=None, primary_key=True)
    generation: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, index=True))
    at: datetime = Field(default_factory=utcnow)
    op: str  # put | delete
    kind: str
    agency: str
    artefact_id: str
    version: str
    is_final: bool = False
    is_stub: bool = False
    access: str = "public"
    body: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    refs: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class RegistryState(SQLModel, table=True):
    __tablename__ = "sdmx_registry_state"

    id: int = Field(default=1, primary_key=True)
    generation: int = 0


@dataclass(frozen=True)
class Stored:
    """One artefact as the registry index reads it from the database (generation: of its last
    change), or as a change is about to save it (then with where it came from)."""

    kind: str
    agency: str
    id: str
    version: str
    is_final: bool
    is_stub: bool
    access: str
    body: bytes
    refs: str
    generation: int = 0
    origin: str = field(default="", compare=False)

    @property
    def key(self) -> Key:
        return (self.kind, self.agency, self.id, self.version)


#: An artefact to insert or replace: what is stored, with its origin.
Put = Stored


_STORED_COLUMNS = (
    ArtefactRow.kind, ArtefactRow.agency, ArtefactRow.artefact_id, ArtefactRow.version, ArtefactRow.is_final,
    ArtefactRow.is_stub, ArtefactRow.access, ArtefactRow.body, ArtefactRow.refs, ArtefactRow.generation,
)


def _stored(row) -> Stored:
    kind, agency, artefact_id, version, is_final, is_stub, access, body, refs, generation = row
    return Stored(kind, agency, artefact_id, version, bool(is_final), bool(is_stub), access or "public",
                  bytes(body or b""), refs or "[]", int(generation or 0))


def read_all(db: Database) -> tuple[list[Stored], int]:
    """Every stored artefact, and the generation they make up."""
    with Session(db.engine) as session:
        rows = session.exec(select(*_STORED_COLUMNS).where(ArtefactRow.body.is_not(None))).all()
        return [_stored(r) for r in rows], _generation(session)


def read_changes(db: Database, since: int) -> tuple[list[Stored], list[Key], int]:
    """What changed after generation `since`: the artefacts now stored (put) and the keys
    deleted, and the current generation."""
    with Session(db.engine) as session:
        generation = _generation(session)
        if generation <= since:
            return [], [], generation
        changes = session.exec(
            select(ArtefactChange.op, ArtefactChange.kind, ArtefactChange.agency, ArtefactChange.artefact_id,
                   ArtefactChange.version)
            .where(ArtefactChange.generation > since)
            .order_by(ArtefactChange.pk)
        ).all()
        final_op: dict[Key, str] = {}
        for op, *key in changes:
            final_op[tuple(key)] = op  # type: ignore[index]
        deleted = [k for k, op in final_op.items() if op == "delete"]
        put = [k for k, op in final_op.items() if op == "put"]
        stored: list[Stored] = []
        for chunk in _chunks(put, 200):
            condition = sa.or_(*[
                sa.and_(ArtefactRow.kind == k[0], ArtefactRow.agency == k[1], ArtefactRow.artefact_id == k[2],
                        ArtefactRow.version == k[3])
                for k in chunk
            ])
            stored += [_stored(r) for r in session.exec(select(*_STORED_COLUMNS).where(condition)).all()]
        return stored, deleted, generation


def read_as_of(db: Database, when: datetime) -> list[Stored]:
    """The registry as it was at `when`: for each artefact, its last change at or before then."""
    with Session(db.engine) as session:
        rows = session.exec(
            select(ArtefactChange).where(ArtefactChange.at <= when).order_by(ArtefactChange.pk)
        ).all()
    last: dict[Key, ArtefactChange] = {}
    for row in rows:
        last[(row.kind, row.agency, row.artefact_id, row.version)] = row
    return [
        Stored(c.kind, c.agency, c.artefact_id, c.version, c.is_final, c.is_stub, c.access, bytes(c.body or b""),
               c.refs or "[]", c.generation)
        for c in last.values() if c.op == "put"
    ]


def current_generation(db: Database) -> int:
    with Session(db.engine) as session:
        return _generation(session)


def _generation(session: Session) -> int:
    state = session.get(RegistryState, 1)
    return state.generation if state else 0


def save(db: Database, puts: Iterable[Put], deletes: Iterable[Key] = ()) -> int:
    """Insert or replace the artefacts and delete the keys, in one transaction, each change
    logged. Returns the new generation."""
    with Session(db.engine) as session:
        state = session.get(RegistryState, 1)
        if state is None:
            state = RegistryState(id=1, generation=0)
        state.generation += 1
        generation = state.generation
        session.add(state)
        now = utcnow()
        for key in deletes:
            row = _row(session, key)
            if row is not None:
                session.delete(row)
            session.add(ArtefactChange(generation=generation, at=now, op="delete", kind=key[0], agency=key[1],
                                       artefact_id=key[2], version=key[3]))
        for put in puts:
            row = _row(session, put.key) or ArtefactRow(
                kind=put.kind, agency=put.agency, artefact_id=put.id, version=put.version
            )
            row.is_final, row.is_stub, row.access = put.is_final, put.is_stub, put.access
            row.body, row.refs, row.origin = put.body, put.refs, put.origin
            row.generation, row.updated_at = generation, now
            session.add(row)
            session.add(ArtefactChange(
                generation=generation, at=now, op="put", kind=put.kind, agency=put.agency, artefact_id=put.id,
                version=put.version, is_final=put.is_final, is_stub=put.is_stub, access=put.access, body=put.body,
                refs=put.refs,
            ))
        session.commit()
        return generation


def _row(session: Session, key: Key) -> ArtefactRow | None:
    kind, agency, artefact_id, version = key
    return session.exec(
        select(ArtefactRow).where(
            ArtefactRow.kind == kind,
            ArtefactRow.agency == agency,
            ArtefactRow.artefact_id == artefact_id,
            ArtefactRow.version == version,
        )
    ).first()


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def create_registry_tables(db: Database) -> None:
    for model in (ArtefactRow, ArtefactChange, RegistryState):
        model.__table__.create(db.engine, checkfirst=True)
