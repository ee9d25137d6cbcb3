"""Where structures live in the database: one row per artefact, holding its SDMX-ML fragment.

A generation counter changes with every committed change to structures, so that each server
process can tell, with one small query, whether its in-memory index is still current.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, select

from sdmx_server.registry.sdmxml import Fragment
from sdmx_server.store.database import Database


class ArtefactRow(SQLModel, table=True):
    __tablename__ = "sdmx_artefact"
    __table_args__ = (sa.UniqueConstraint("kind", "agency", "artefact_id", "version"),)

    pk: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True)
    agency: str
    artefact_id: str
    version: str
    is_final: bool = False
    #: public or internal; only meaningful for dataflows.
    access: str = "public"
    #: The file the artefact was last loaded from.
    origin: str = ""
    xml: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    def fragment(self) -> Fragment:
        return Fragment(self.kind, self.agency, self.artefact_id, self.version, self.is_final, self.xml)


class RegistryState(SQLModel, table=True):
    __tablename__ = "sdmx_registry_state"

    id: int = Field(default=1, primary_key=True)
    generation: int = 0


def read_all(db: Database) -> tuple[list[Fragment], dict[tuple[str, str, str], str], int]:
    """Every stored fragment, the access level of each dataflow, and the generation."""
    with Session(db.engine) as session:
        rows = session.exec(select(ArtefactRow).order_by(ArtefactRow.pk)).all()
        fragments = [row.fragment() for row in rows]
        access = {(r.agency, r.artefact_id, r.version): r.access for r in rows if r.kind == "dataflow"}
        return fragments, access, _generation(session)


def current_generation(db: Database) -> int:
    with Session(db.engine) as session:
        return _generation(session)


def _generation(session: Session) -> int:
    state = session.get(RegistryState, 1)
    return state.generation if state else 0


def save(
    db: Database,
    fragments: list[Fragment],
    access: dict[tuple[str, str, str], str],
    origins: dict[tuple[str, str, str, str], str],
    delete: list[tuple[str, str, str, str]] = (),
) -> int:
    """Insert or replace the fragments (and delete the given keys) in one transaction.
    Returns the new generation."""
    with Session(db.engine) as session:
        for kind, agency, artefact_id, version in delete:
            row = _row(session, (kind, agency, artefact_id, version))
            if row is not None:
                session.delete(row)
        for fragment in fragments:
            row = _row(session, fragment.key) or ArtefactRow(
                kind=fragment.kind, agency=fragment.agency, artefact_id=fragment.id, version=fragment.version, xml=b""
            )
            row.xml = fragment.xml
            row.is_final = fragment.is_final
            row.origin = origins.get(fragment.key, "")
            row.updated_at = datetime.now(timezone.utc)
            if fragment.kind == "dataflow":
                row.access = access.get((fragment.agency, fragment.id, fragment.version), "public")
            session.add(row)
        state = session.get(RegistryState, 1) or RegistryState(id=1, generation=0)
        state.generation += 1
        session.add(state)
        session.commit()
        return state.generation


def _row(session: Session, key: tuple[str, str, str, str]) -> ArtefactRow | None:
    kind, agency, artefact_id, version = key
    return session.exec(
        select(ArtefactRow).where(
            ArtefactRow.kind == kind,
            ArtefactRow.agency == agency,
            ArtefactRow.artefact_id == artefact_id,
            ArtefactRow.version == version,
        )
    ).first()
