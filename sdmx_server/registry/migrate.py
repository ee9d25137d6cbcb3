"""Bringing an older store up to date when the server starts, without losing anything.

Stores made before the registry kept its stored JSON hold each artefact as an SDMX-ML 2.1
fragment (column `xml`). On start the missing columns are added, and every such artefact is
read back (all fragments together as one message, so that references resolve as they did)
and given its stored form; the fragment itself is kept.
"""

from __future__ import annotations

import logging

import orjson
import sqlalchemy as sa
from lxml import etree
from sqlmodel import Session, select

from sdmx_server.kinds import BY_NAME, BY_V1, ML21_CONTAINERS, kind_of
from sdmx_server.registry.store import ArtefactChange, ArtefactRow, RegistryState, utcnow
from sdmx_server.store.database import Database

log = logging.getLogger("sdmx_server.registry")

NS_MES = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
NS_STR = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"


def migrate(db: Database) -> int:
    """Add what older stores lack; returns how many artefacts were given their stored form."""
    _add_columns(db)
    return _fragments_to_json(db)


def _add_columns(db: Database) -> None:
    inspector = sa.inspect(db.engine)
    if "sdmx_artefact" not in inspector.get_table_names():
        return
    present = {c["name"] for c in inspector.get_columns("sdmx_artefact")}
    table = ArtefactRow.__table__
    with db.engine.begin() as conn:
        for column in table.columns:
            if column.name in present:
                continue
            ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE sdmx_artefact ADD COLUMN {ddl}"))


def _fragments_to_json(db: Database) -> int:
    from sdmx_server.registry import codec
    from sdmx_server.registry.index import artefact_key
    from sdmx_server.registry.sdmxml import read_model

    with Session(db.engine) as session:
        rows = session.exec(select(ArtefactRow).where(ArtefactRow.body.is_(None))).all()
        if not rows:
            return 0
        # Old kind names: REST v1 resources (contentconstraint is now dataconstraint).
        for row in rows:
            if row.kind not in BY_NAME and row.kind in BY_V1:
                row.kind = BY_V1[row.kind][0].name
        message = read_model(_assemble([r for r in rows if r.xml]))
        models = {}
        for name, _ in message.iter_collections():
            for artefact in getattr(message, name).values():
                try:
                    models[(kind_of(artefact).name, *artefact_key(artefact))] = artefact
                except ValueError:
                    continue
        state = session.get(RegistryState, 1) or RegistryState(id=1, generation=0)
        state.generation += 1
        now = utcnow()
        converted = 0
        for row in rows:
            artefact = models.get(row.key)
            if artefact is None:
                log.warning("%s %s:%s(%s) could not be read back; left as it was", *row.key)
                continue
            obj = codec.to_json(artefact)
            row.body = orjson.dumps(obj)
            row.refs = orjson.dumps(codec.references(obj)).decode()
            row.is_stub = obj.get("isExternalReference") is True
            row.generation = state.generation
            session.add(row)
            session.add(ArtefactChange(
                generation=state.generation, at=now, op="put", kind=row.kind, agency=row.agency,
                artefact_id=row.artefact_id, version=row.version, is_final=row.is_final, is_stub=row.is_stub,
                access=row.access, body=row.body, refs=row.refs,
            ))
            converted += 1
        session.add(state)
        session.commit()
        log.info("migrated %d artefacts from SDMX-ML fragments to their stored form", converted)
        return converted


def _assemble(rows: list[ArtefactRow]) -> bytes:
    """One SDMX-ML 2.1 structure message holding the fragments, containers in schema order."""
    by_container: dict[str, list[bytes]] = {}
    for row in rows:
        by_container.setdefault(BY_NAME[row.kind].ml21[1], []).append(row.xml)
    root = etree.Element(f"{{{NS_MES}}}Structure", nsmap={"mes": NS_MES, "str": NS_STR})
    header = etree.SubElement(root, f"{{{NS_MES}}}Header")
    etree.SubElement(header, f"{{{NS_MES}}}ID").text = "MIGRATION"
    etree.SubElement(header, f"{{{NS_MES}}}Test").text = "false"
    etree.SubElement(header, f"{{{NS_MES}}}Prepared").text = "2000-01-01T00:00:00"
    etree.SubElement(header, f"{{{NS_MES}}}Sender", id="REGISTRY")
    structures = etree.SubElement(root, f"{{{NS_MES}}}Structures")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for container in ML21_CONTAINERS:
        if container in by_container:
            holder = etree.SubElement(structures, f"{{{NS_STR}}}{container}")
            for fragment in by_container[container]:
                holder.append(etree.fromstring(fragment, parser))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
