"""Real structure messages of other agencies: loaded into the registry, served back equal.

Each SDMX-ML 2.1 structure message of the shared samples that holds a complete set of
structures is loaded with `load_structures` into a fresh database (a few on PostgreSQL too),
the real server is started on it, and every codelist, concept scheme, DSD and dataflow the
file holds is fetched through the REST v1 structure resources (a DSD also with
references=children). Every answer must be valid SDMX-ML 2.1, and sdmx1's reading of it must
equal sdmx1's reading of the original file: the same artefacts (agency, id, version, final,
stub or not), items with their names and descriptions in every language, annotations and
parents, DSD components in order with their concepts, codelists, attribute usage and
attachment, and the dataflow's DSD. (Facets of text formats are not compared here: the
writer's round trip of them is tests/test_structure_ml21.py's.) Samples that name codelists
they do not hold are served too, loaded beside stubs for what they lack.

The artefacts a file holds are read off its XML, not off sdmx1's reading: sdmx1 invents item
schemes for local <Parent> references and merges references to two versions of one codelist.

Files that cannot be loaded (a DSD without its codelists, invalid SDMX-ML 2.1, data messages,
SDMX-ML 3.0) are refused with messages that say why, never with an exception. A final artefact
cannot change, but the same content in another serialisation is no change; a stub never
replaces an artefact held in full.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import httpx
import pytest
import sdmx

# See tests/test_structure_ml21.py: sdmx1's SDMX-ML 3.0 reader must be imported before any
# structure-specific data is read, or its import fails.
import sdmx.reader.xml.v30  # noqa: F401
from lxml import etree
from sdmx.model import common, v21

from sdmx_server.registry.load import load_structures
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.boot import create_schema
from tests.conftest import fresh_database, running_server
from tests.xsd import assert_valid

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
NS_STRUCTURE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
NS_COMMON = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
NS_MESSAGE_30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"

#: SDMX-ML 2.1 element -> REST v1 resource, for the four kinds the server writes.
RESOURCES = {"Codelist": "codelist", "ConceptScheme": "conceptscheme", "DataStructure": "datastructure",
             "Dataflow": "dataflow"}

#: Samples that load and whose codelists, concept schemes, DSDs and dataflows are served back.
SERVED = (
    "ECB_EXR/1/structure-full.xml",
    "ECB_EXR/ng-structure-full.xml",
    "ECB_EXR/ng-structure.xml",
    "ECB_EXR/rg-structure-full.xml",
    "ECB_EXR/sg-structure-full.xml",
    "ECB_EXR/common.xml",
    "ESTAT/demography-structure.xml",
    "ESTAT/apro_mk_cola-structure.xml",
    "ESTAT/esms-structure.xml",
    "SGR/common-structure.xml",
    "TEST/gh-142.xml",
    "v21/xml/demography/demography.xml",
    "v21/xml/demography/esms.xml",
    "v21/xml/common/common.xml",
    "v21/xml/VTL/VTL_Sample_1.xml",  # measure dimensions enumerating a concept scheme by class-less <Ref>
    "v21/xml/VTL/VTL_Sample_3.xml",
    "v21/xml/query/response_cl_all.xml",
    "v21/xml/query/response_cl_regions.xml",
    "v21/xml/query/response_demo_stub.xml",
    "v21/xml/query/response_esms_descendants.xml",  # a dataflow without a <Structure>
)
#: Samples that name codelists and concept schemes they do not hold: refused alone (see
#: REFUSED_MISSING), loaded together with external-reference stubs for what they lack.
SERVED_WITH_STUBS = ("ESTAT/GOV_10Q_GGNFA.xml", "TEST/gh-149.xml", "ECB_EXR/1/structure.xml")
#: The few that also run on PostgreSQL (the rest are the same code on another backend):
#: GOV_10Q_GGNFA has names in German, English and French.
ON_POSTGRES = ("ECB_EXR/1/structure-full.xml", "ESTAT/GOV_10Q_GGNFA.xml", "v21/xml/VTL/VTL_Sample_3.xml")

#: Samples that load but hold none of the four served kinds (only references to them).
LOADED_NOTHING_SERVED = (
    "BIS/actualconstraint-0.xml",  # a ContentConstraint on dataflow BIS:WS_CBPOL_D, not defined here
    "ECB/orgscheme.xml",  # organisation schemes
    "ECB/structureset-0.xml",  # a structure set mapping codelists it does not define
    "SGR/metadatastructure-0.xml",  # a metadata structure
)

#: Samples refused because artefacts in them refer to structures no file of theirs defines:
#: file -> references that the errors must name.
REFUSED_MISSING = {
    "ECB_EXR/1/structure.xml": ["codelist ECB:CL_FREQ(1.0)", "codelist ECB:CL_CURRENCY(1.0)",
                                "conceptscheme ECB:ECB_CONCEPTS(1.0)"],
    "ESTAT/GOV_10Q_GGNFA.xml": ["codelist ESTAT:FREQ(1.31)", "codelist ESTAT:S_ADJ(1.9)",
                                "codelist ESTAT:SECTOR(9.2)", "codelist ESTAT:NA_ITEM(9.0)"],
    "TEST/gh-149.xml": ["conceptscheme AGENCYID:CS_SAMPLE_BETA(1.0)", "codelist AGENCYID:CL_COM22(1.0)"],
    "BIS/hierarchicalcodelist-0.xml": ["codelist BIS:CL_TC_BORROWERS(1.0)", "codelist BIS:CL_BIS_IF_REF_AREA(1.0)"],
    "SGR/hierarchicalcodelist-0.xml": ["codelist ESTAT:SCL_WSTATUS(1.0)"],
    "v21/xml/query/response_esms_children.xml": ["datastructure ESTAT:DEMOGRAPHY(1.0)"],
}

#: Samples refused as not valid against the SDMX-ML 2.1 schema: file -> what the error says.
REFUSED_INVALID = {
    # A categorisation of a BIS PublicationTable, a class (and package) SDMX 2.1 does not have.
    "BIS/gh-180.xml": "line 37: Element 'Ref', attribute 'package': [facet 'enumeration'] The value 'publicationtable'",
    # The official VTL sample 2 puts a VtlMappingScheme where a reference belongs.
    "v21/xml/VTL/VTL_Sample_2.xml": "line 299: Element 'str:VtlMappingScheme': This element is not expected.",
}

#: Samples refused as SDMX-ML 3.0 structure messages.
REFUSED_V30 = ("ESTAT/CL_FREQ.xml", "ESTAT/HCL_WSTATUS_SCL_BNSPART.xml", "SDMX/HCL_TEST_AREA.xml", "v3/xml/codelist.xml")


def sample_params():
    params = []
    for name in SERVED + SERVED_WITH_STUBS:
        params.append(pytest.param(name, "sqlite", id=f"{name}-sqlite"))
        if name in ON_POSTGRES:
            params.append(pytest.param(name, "postgresql", id=f"{name}-postgresql"))
    return params


@pytest.fixture
def store(database_url, tmp_path):
    """(db, settings) on a fresh database of the backend the test is parametrized with."""
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    yield db, settings
    db.dispose()


# -- reading, with sdmx1 -----------------------------------------------------------------------


def read(data: bytes):
    logger = logging.getLogger("sdmx")  # it warns about every reference it cannot resolve
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return sdmx.read_sdmx(io.BytesIO(data), format="XML")
    finally:
        logger.setLevel(previous)


def version(artefact) -> str:
    return str(artefact.version) if artefact.version is not None else "1.0"  # the SDMX-ML 2.1 default


def ref(artefact) -> tuple[str, str, str] | None:
    if artefact is None:
        return None
    return (getattr(artefact.maintainer, "id", None) or "", artefact.id, version(artefact))


def artefacts_in_file(data: bytes) -> list[tuple[str, str, str, str]]:
    """(resource, agency, id, version) of every served-kind artefact the message itself holds,
    read off the XML: sdmx1 adds objects of its own for references it meets."""
    root = etree.fromstring(data)
    found = []
    for element in root.iterfind(f"{{{NS_MESSAGE}}}Structures/*/*"):
        name = etree.QName(element).localname
        if name in RESOURCES:
            found.append((RESOURCES[name], element.get("agencyID"), element.get("id"), element.get("version") or "1.0"))
    return found


def find(message, resource: str, agency: str, artefact_id: str, artefact_version: str):
    collection = {"codelist": message.codelist, "conceptscheme": message.concept_scheme,
                  "datastructure": message.structure, "dataflow": message.dataflow}[resource]
    matches = [a for a in collection.values() if ref(a) == (agency, artefact_id, artefact_version)]
    assert len(matches) == 1, f"{resource} {agency}:{artefact_id}({artefact_version}): {len(matches)} found"
    return matches[0]


# -- digests: what must be equal, as plain data --------------------------------------------------


def texts(text) -> dict[str, str]:
    return {lang: value for lang, value in text.localizations.items() if value}


def annotations(obj) -> list:
    return [(a.id, a.title, a.type, a.url, texts(a.text)) for a in obj.annotations]


def item_digest(item) -> dict:
    return {
        "names": texts(item.name),
        "descriptions": texts(item.description),
        "annotations": annotations(item),
        "parent": item.parent.id if isinstance(item.parent, common.Item) else None,
    }


def enumerated(representation):
    scheme = getattr(representation, "enumerated", None)
    return ref(scheme)


def concept(component):
    identity = component.concept_identity
    if identity is None:
        return None
    scheme = identity.get_scheme()
    return (*ref(scheme), identity.id) if scheme is not None else (None, identity.id)


def attachment(relationship):
    if isinstance(relationship, v21.PrimaryMeasureRelationship):
        return ("observation",)
    dimensions = [d.id for d in getattr(relationship, "dimensions", None) or []]
    group = getattr(getattr(relationship, "group_key", None), "id", None)
    if dimensions:
        return ("dimensions", dimensions, group)
    if group:
        return ("group", group)
    return ("dataset",)  # None and NoSpecifiedRelationship alike


def component_digest(component) -> dict:
    digest = {
        "id": component.id,
        "class": type(component).__name__,
        "concept": concept(component),
        "codelist": enumerated(component.local_representation),
        "annotations": annotations(component),
    }
    if isinstance(component, common.DimensionComponent):
        digest["position"] = component.order
    if isinstance(component, common.DataAttribute):
        digest["usage"] = (component.usage_status or common.UsageStatus.conditional).name
        digest["attachment"] = attachment(component.related_to)
    return digest


def digest(artefact) -> dict:
    result = {
        "key": (type(artefact).__name__, *ref(artefact)),
        "names": texts(artefact.name) or {"en": artefact.id},  # a nameless stub is written with its id
        "final": bool(artefact.is_final),
        "external": bool(artefact.is_external_reference),
    }
    if artefact.is_external_reference:
        return result
    result["descriptions"] = texts(artefact.description)
    result["annotations"] = annotations(artefact)
    if isinstance(artefact, common.ItemScheme):
        result["items"] = {i.id: item_digest(i) for i in artefact.items.values()}
        if isinstance(artefact, common.ConceptScheme):
            result["core"] = {i.id: enumerated(i.core_representation) for i in artefact.items.values()}
    elif isinstance(artefact, common.BaseDataStructureDefinition):
        result["dimensions"] = [component_digest(c) for c in artefact.dimensions.components]
        result["attributes"] = [component_digest(c) for c in artefact.attributes.components]
        result["measures"] = [component_digest(c) for c in artefact.measures.components]
        result["groups"] = {g.id: [d.id for d in g.components] for g in artefact.group_dimensions.values()}
    elif isinstance(artefact, common.BaseDataflow):
        result["structure"] = ref(artefact.structure)
    return result


# -- references, read off the XML (sdmx1 merges references to two versions of one codelist) ----


_URN = re.compile(r"\.(Codelist|ConceptScheme|Concept)=([^:]+):([^(]+)\(([^)]+)\)")


def references_in(element) -> set[tuple[str, str, str, str]]:
    """The codelists and concept schemes an element refers to: by <Ref> (whose class, when
    absent, follows from where it stands) or by <URN>, in a ConceptIdentity or an Enumeration."""
    found = set()
    for node in element.iter("Ref", "URN"):
        context = etree.QName(node.getparent()).localname
        if context not in ("ConceptIdentity", "Enumeration"):
            continue  # local parents, the dataflow's structure, constraints, …
        if node.tag == "URN":
            match = _URN.search(node.text or "")
            if match is None:
                continue
            cls, agency, target, target_version = match.groups()
        else:
            # A class-less <Ref> means what the schema says there: a concept, or a codelist, or
            # for a measure dimension (Enumeration < LocalRepresentation < MeasureDimension) a
            # concept scheme.
            owner = etree.QName(node.getparent().getparent().getparent()).localname
            default = {"ConceptIdentity": "Concept"}.get(context) or (
                "ConceptScheme" if owner == "MeasureDimension" else "Codelist"
            )
            cls = node.get("class") or default
            agency, target, target_version = node.get("agencyID"), node.get("id"), node.get("version")
            if cls == "Concept":
                target, target_version = node.get("maintainableParentID"), node.get("maintainableParentVersion")
        kind = "codelist" if cls == "Codelist" else "conceptscheme"
        found.add((kind, agency, target, target_version or "1.0"))
    return found


def dsd_references(data: bytes, agency: str, dsd_id: str, dsd_version: str) -> set[tuple[str, str, str, str]]:
    for element in etree.fromstring(data).iterfind(f"{{{NS_MESSAGE}}}Structures/*/{{{NS_STRUCTURE}}}DataStructure"):
        if (element.get("agencyID"), element.get("id"), element.get("version") or "1.0") == (agency, dsd_id, dsd_version):
            return references_in(element)
    raise AssertionError(f"no DataStructure {agency}:{dsd_id}({dsd_version})")


def missing_references(data: bytes) -> set[tuple[str, str, str, str]]:
    return references_in(etree.fromstring(data)) - set(artefacts_in_file(data))


def stubs_message(stubs) -> bytes:
    """A structure message of external-reference stubs (identity and name only) for codelists
    and concept schemes."""
    element = {"codelist": ("Codelists", "Codelist"), "conceptscheme": ("Concepts", "ConceptScheme")}
    body = ""
    for kind, (container, name) in element.items():
        items = "".join(
            f'<str:{name} agencyID="{a}" id="{i}" version="{v}" isExternalReference="true">'
            f'<com:Name xml:lang="en">{i}</com:Name></str:{name}>'
            for k, a, i, v in sorted(stubs) if k == kind
        )
        body += f"<str:{container}>{items}</str:{container}>" if items else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><mes:Structure xmlns:mes="{NS_MESSAGE}" '
        f'xmlns:str="{NS_STRUCTURE}" xmlns:com="{NS_COMMON}"><mes:Header><mes:ID>STUBS</mes:ID>'
        '<mes:Test>true</mes:Test><mes:Prepared>2024-01-01T00:00:00</mes:Prepared><mes:Sender id="TEST"/>'
        f"</mes:Header><mes:Structures>{body}</mes:Structures></mes:Structure>"
    ).encode()


# -- the samples, loaded and served --------------------------------------------------------------


def test_every_listed_sample_is_there(samples_dir):
    listed = [*SERVED, *SERVED_WITH_STUBS, *LOADED_NOTHING_SERVED, *REFUSED_MISSING, *REFUSED_INVALID, *REFUSED_V30]
    assert [n for n in listed if not (samples_dir / n).is_file()] == []


@pytest.mark.parametrize("name, database_url", sample_params(), indirect=["database_url"])
def test_sample_loaded_and_served_back_equal(samples_dir, store, tmp_path, name):
    db, settings = store
    path = samples_dir / name
    data = path.read_bytes()
    paths = [path]
    if name in SERVED_WITH_STUBS:
        paths.append(tmp_path / "stubs.xml")
        paths[-1].write_bytes(stubs_message(missing_references(data)))
    outcome = load_structures(db, paths, settings)
    assert outcome.ok, outcome.errors
    expected = artefacts_in_file(data)
    assert expected, "the sample holds no codelist, concept scheme, DSD or dataflow"
    assert {f"{r} {a}:{i}({v})" for r, a, i, v in expected} <= set(outcome.loaded)
    held = set(expected) | missing_references(data) if name in SERVED_WITH_STUBS else set(expected)
    original = read(data)

    with running_server(settings) as server, httpx.Client(timeout=60) as client:

        def fetch(path: str, **params) -> bytes:
            response = client.get(server.rest(path), params=params)
            assert response.status_code == 200, (path, params, response.text[:500])
            assert response.headers["content-type"].startswith("application/vnd.sdmx.structure+xml")
            assert_valid(response.content)
            return response.content

        for resource, agency, artefact_id, artefact_version in expected:
            where = f"{resource}/{agency}/{artefact_id}/{artefact_version}"
            want = find(original, resource, agency, artefact_id, artefact_version)
            answer = fetch(where)
            assert artefacts_in_file(answer) == [(resource, agency, artefact_id, artefact_version)], where
            got = find(read(answer), resource, agency, artefact_id, artefact_version)
            assert digest(got) == digest(want), where

            if resource == "datastructure" and not want.is_external_reference:
                answer = fetch(where, references="children")
                children = dsd_references(data, agency, artefact_id, artefact_version)
                assert children <= held  # or the load would have been refused
                assert set(artefacts_in_file(answer)) == children | {(resource, agency, artefact_id, artefact_version)}
                back = read(answer)
                for child in children & set(expected):
                    assert digest(find(back, *child)) == digest(find(original, *child)), (where, child)


# -- refused, with reasons --------------------------------------------------------------------------


def fragments(db) -> list:
    return read_all(db)[0]


@pytest.mark.parametrize("name", sorted(REFUSED_MISSING))
def test_sample_lacking_structures_is_refused_naming_them(samples_dir, tmp_path, name):
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        create_schema(db)
        outcome = load_structures(db, [samples_dir / name], Settings(database_url=url, data_dir=tmp_path))
        assert not outcome.ok and outcome.loaded == []
        for reference in REFUSED_MISSING[name]:
            assert any(f"refers to {reference}, which is not loaded" in e for e in outcome.errors), reference
        # Every line says which artefact refers, where, and to what: nothing else (no traceback).
        line = re.compile(r"^\w+ \S+:\S+\(\S+\), [^:]+: refers to \w+ \S+:\S+\(\S+\), which is not loaded$")
        assert [e for e in outcome.errors if not line.match(e)] == []
        assert fragments(db) == []
        db.dispose()


def test_dsd_without_its_codelists_names_every_one(samples_dir, tmp_path):
    """ECB_EXR/1/structure.xml is the DSD of structure-full.xml without its codelists and concepts."""
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        create_schema(db)
        data = (samples_dir / "ECB_EXR/1/structure.xml").read_bytes()
        settings = Settings(database_url=url, data_dir=tmp_path)
        outcome = load_structures(db, [samples_dir / "ECB_EXR/1/structure.xml"], settings)
        named = {tuple(re.search(r"refers to (\w+) (\S+):(\S+)\((\S+)\), which", e).groups()) for e in outcome.errors}
        assert named == missing_references(data)
        assert len(named) == 12  # eleven codelists and the concept scheme
        db.dispose()


def root_of(path: Path) -> etree.QName | None:
    try:
        for _, element in etree.iterparse(str(path), events=("start",), resolve_entities=False, no_network=True):
            return etree.QName(element)
    except etree.XMLSyntaxError:
        return None


def test_every_xml_sample_is_loaded_or_refused_with_reasons(samples_dir, tmp_path):
    """Every .xml file of the samples, each into an empty registry: loaded, or refused with
    messages that say why; never an exception. (The `ECB_EXR/rg-*` data name DSD ECB_EXR_RG where
    rg-structure*.xml define ECB_EXR_CG: a quirk of the data; the structure files load as they are.)"""
    loaded, not_structures = set(), set()
    for number, path in enumerate(sorted(samples_dir.rglob("*.xml"))):
        name = path.relative_to(samples_dir).as_posix()
        url = f"sqlite:///{tmp_path / f'{number}.db'}"
        db = Database(url)
        create_schema(db)
        try:
            outcome = load_structures(db, [path], Settings(database_url=url, data_dir=tmp_path))
        except Exception as exc:  # the one thing that must never happen
            pytest.fail(f"{name}: {type(exc).__name__}: {exc}")
        stored = sorted(f.ref for f in fragments(db))
        db.dispose()
        root = root_of(path)
        if outcome.ok:
            assert (root.namespace, root.localname) == (NS_MESSAGE, "Structure"), name
            assert outcome.loaded and stored == outcome.loaded, name
            loaded.add(name)
            continue
        assert outcome.errors and outcome.loaded == [] and stored == [], name
        assert all(e.strip() and "Traceback" not in e for e in outcome.errors), name
        if root.localname != "Structure":
            # Data, metadata and query messages (2.1 and 3.0): not structure messages, and said so.
            assert outcome.errors == [
                f"{path}: expected an SDMX-ML 2.1 structure message (message:Structure), found {root.localname}"
            ], name
            not_structures.add(name)
        elif root.namespace == NS_MESSAGE_30:
            assert outcome.errors == [f"{path}: SDMX-ML 3.0 structure messages are not accepted yet; send SDMX-ML 2.1"]
        elif name in REFUSED_INVALID:
            assert len(outcome.errors) == 1 and REFUSED_INVALID[name] in outcome.errors[0], outcome.errors
            assert outcome.errors[0].startswith(f"{path}: not valid SDMX-ML 2.1: ")
        else:
            assert all("which is not loaded" in e for e in outcome.errors), (name, outcome.errors)

    assert set(SERVED) | set(LOADED_NOTHING_SERVED) <= loaded
    assert not (set(REFUSED_MISSING) | set(REFUSED_INVALID) | set(REFUSED_V30)) & loaded
    assert {
        "ECB_EXR/1/M.USD.EUR.SP00.A.xml", "ECB_EXR/rg-flat.xml", "ECB_EXR/rg-ts-ss.xml",  # SDMX-ML 2.1 data
        "ESTAT/esms.xml", "ESTAT/esms-ss.xml",  # SDMX-ML 2.1 metadata
        "v21/xml/query/query_cl_all.xml",  # a structure query
        "v3/xml/ECB_EXR0.xml",  # SDMX-ML 3.0 data
    } <= not_structures


# -- loading again ------------------------------------------------------------------------------------


def test_loading_the_same_file_twice_changes_nothing(samples_dir, store):
    db, settings = store
    for name in ("ESTAT/apro_mk_cola-structure.xml", "ECB_EXR/1/structure-full.xml"):  # final; not final
        first = load_structures(db, [samples_dir / name], settings)
        assert first.ok, first.errors
        before = fragments(db)
        again = load_structures(db, [samples_dir / name], settings)
        assert again.ok, again.errors
        assert again.loaded == first.loaded
        assert fragments(db) == before


def test_a_final_artefact_cannot_change(samples_dir, tmp_path):
    """apro_mk_cola-structure.xml: every artefact isFinal="true". Its CL_FREQ renamed in a copy is
    refused; the same change under a new version is a new artefact, and loads."""
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        create_schema(db)
        settings = Settings(database_url=url, data_dir=tmp_path)
        original = samples_dir / "ESTAT/apro_mk_cola-structure.xml"
        assert load_structures(db, [original], settings).ok
        before = read_all(db)

        text = original.read_text(encoding="utf-8")
        assert text.count('<com:Name xml:lang="en">Annual</com:Name>') == 1
        changed = tmp_path / "changed.xml"
        changed.write_text(text.replace('<com:Name xml:lang="en">Annual</com:Name>',
                                        '<com:Name xml:lang="en">Yearly</com:Name>'), encoding="utf-8")
        outcome = load_structures(db, [changed], settings)
        assert outcome.errors == [
            "codelist ESTAT:CL_FREQ(1.0) is final and cannot change; publish the change under a new version"
        ]
        assert read_all(db) == before

        start = text.index('<str:Codelist id="CL_FREQ"')
        head = text[start:text.index(">", start)]
        assert 'version="1.0"' in head and 'isFinal="true"' in head and "CL_FREQ(1.0)" in head
        new_head = head.replace('version="1.0"', 'version="1.1"').replace("CL_FREQ(1.0)", "CL_FREQ(1.1)")
        newer = tmp_path / "newer.xml"
        newer.write_text(changed.read_text(encoding="utf-8").replace(head, new_head), encoding="utf-8")
        outcome = load_structures(db, [newer], settings)
        assert outcome.ok, outcome.errors
        assert "codelist ESTAT:CL_FREQ(1.1)" in outcome.loaded
        db.dispose()


def test_a_final_artefact_sent_again_in_other_clothes_is_not_a_change(samples_dir, tmp_path):
    """The same content with other namespace prefixes, an unused namespace declaration and no
    indentation (another tool's serialisation) is the same artefact: loading it is no change."""
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        create_schema(db)
        settings = Settings(database_url=url, data_dir=tmp_path)
        original = samples_dir / "ESTAT/apro_mk_cola-structure.xml"
        first = load_structures(db, [original], settings)
        assert first.ok, first.errors

        text = original.read_text(encoding="utf-8")
        text = re.sub(r"\bstr:", "s:", text).replace("xmlns:str=", "xmlns:s=")
        text = re.sub(r"\bcom:", "c:", text).replace("xmlns:com=", "xmlns:c=")
        text = text.replace("<mes:Structure ", '<mes:Structure xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ', 1)
        text = re.sub(r">\s+<", "><", text)
        other = tmp_path / "other.xml"
        other.write_text(text, encoding="utf-8")
        outcome = load_structures(db, [other], settings)
        assert outcome.ok, outcome.errors
        assert outcome.loaded == first.loaded
        db.dispose()


def test_a_stub_never_replaces_what_the_registry_holds_in_full(samples_dir, store):
    """ng-structure.xml holds the DSD of ng-structure-full.xml with stubs (isExternalReference)
    of its codelists and concept schemes. Loaded after the full file, or with it, it leaves the
    full artefacts in place: a stub names an artefact, it does not empty it."""
    db, settings = store
    full, stubs = samples_dir / "ECB_EXR/ng-structure-full.xml", samples_dir / "ECB_EXR/ng-structure.xml"
    assert load_structures(db, [full], settings).ok
    before = read_all(db)[0]
    outcome = load_structures(db, [stubs], settings)
    assert outcome.ok and outcome.loaded == ["datastructure ECB:ECB_EXR_NG(1.0)"], outcome
    assert read_all(db)[0] == before
    for order in ([stubs, full], [full, stubs]):
        outcome = load_structures(db, order, settings)
        assert outcome.ok and len(outcome.loaded) == 11
        assert read_all(db)[0] == before

    original = read(full.read_bytes())
    with running_server(settings) as server:
        answer = httpx.get(server.rest("codelist/SDMX/CL_FREQ/1.0"), timeout=60)
        assert_valid(answer.content)
        served = find(read(answer.content), "codelist", "SDMX", "CL_FREQ", "1.0")
        assert digest(served) == digest(find(original, "codelist", "SDMX", "CL_FREQ", "1.0"))
        assert not served.is_external_reference and len(served.items) == 8


def test_one_artefact_in_two_files_of_one_load(samples_dir, store):
    """The same artefacts in several files of one load are one artefact when they say the same;
    when they differ (SGR's CL_FREQ has a French annotation text the SDMX one lacks), refused."""
    db, settings = store
    same = ["ECB_EXR/ng-structure-full.xml", "ECB_EXR/sg-structure-full.xml", "ECB_EXR/rg-structure-full.xml"]
    outcome = load_structures(db, [samples_dir / name for name in same], settings)
    assert outcome.ok, outcome.errors
    assert {"datastructure ECB:ECB_EXR_NG(1.0)", "datastructure ECB:ECB_EXR_SG(1.0)",
            "datastructure ECB:ECB_EXR_CG(1.0)", "codelist SDMX:CL_FREQ(1.0)"} <= set(outcome.loaded)

    before = read_all(db)
    different = [samples_dir / "v21/xml/common/common.xml", samples_dir / "SGR/common-structure.xml"]
    outcome = load_structures(db, different, settings)
    assert outcome.errors == [f"{different[1]}: codelist SDMX:CL_FREQ(1.0) is given twice, with different content"]
    assert read_all(db) == before
