"""What each file of the shared samples does when loaded, and why: the one table the samples
tests assert and docs/conformance-samples.md is written from.

Every .xml and .json file under the samples folder is loaded, alone, into an empty registry.
Structure messages (and SDMX-JSON metadata messages, which `load-structures` reads too) are
listed by name in STRUCTURES; every other file is a data, metadata or query message, and what
the loader must say of it follows from its root element (`not_structures`), read here without
the loader's code.

The served tests' tables live here too (what a format cannot express, what the clients cannot
read), so that the document is written from the same lists the tests check.

`python -m tests.samples_expected` rewrites docs/conformance-samples.md; a test fails when the
document differs from what this module writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lxml import etree

from tests.conftest import ROOT, samples_path

DOCUMENT = ROOT / "docs" / "conformance-samples.md"
SUFFIXES = (".xml", ".json")

Outcome = Literal["loaded", "loaded with stubs", "refused"]


@dataclass(frozen=True)
class Expected:
    outcome: Outcome
    why: str
    #: For refused files: a part of the one error the loader gives.
    error: str = ""


def _stubs(why: str) -> Expected:
    return Expected("loaded with stubs", why)


def _loaded(why: str) -> Expected:
    return Expected("loaded", why)


_ECB_CODES = "codelists and the concept scheme of ECB_EXR/1/structure-full.xml"
_SCL_WSTATUS = "an SDMX-ML 3.0 hierarchy of codelist ESTAT:SCL_WSTATUS, not defined here"

#: Structure messages (and SDMX-JSON metadata messages) by file.
STRUCTURES: dict[str, Expected] = {
    "BIS/actualconstraint-0.xml": _stubs("an actual-content constraint on dataflow BIS:WS_CBPOL_D, not defined here"),
    "BIS/gh-180.xml": Expected(
        "refused", "it categorises a BIS PublicationTable, a class (and package) SDMX 2.1 does not have",
        "not valid SDMX-ML 2.1: line 37: Element 'Ref', attribute 'package'"),
    "BIS/hierarchicalcodelist-0.xml": Expected(
        "refused", "sdmx1 2.28 mixes up the children of consecutive hierarchical codes of HCL_COUNTRY (one code "
        "gets two children with one id); refused rather than stored wrong",
        "hierarchicalcodelist BIS:HCL_COUNTRY(1.0) cannot be stored: hierarchical code 3 has two children with the id"),
    "ECB/orgscheme.xml": _loaded("agency and data provider schemes"),
    "ECB/structureset-0.xml": _stubs("a structure set mapping two ECB codelists it does not define"),
    "ECB_EXR/1/structure-full.xml": _stubs("a categorisation into category scheme ECB:MOBILE_NAVI, not defined here"),
    "ECB_EXR/1/structure.xml": _stubs(f"the DSD without its {_ECB_CODES}"),
    "ECB_EXR/common.xml": _loaded("codelists and concepts"),
    "ECB_EXR/ng-structure-full.xml": _loaded("DSD, dataflow, codelists and concepts"),
    "ECB_EXR/ng-structure.xml": _loaded("the DSD with external-reference stubs (isExternalReference) of what it uses"),
    "ECB_EXR/rg-structure-full.xml": _loaded("DSD with an attachment group, dataflow, codelists and concepts"),
    "ECB_EXR/rg-structure.xml": _loaded("the DSD with external-reference stubs of what it uses"),
    "ECB_EXR/sg-structure-full.xml": _loaded("DSD with a sibling group, dataflow, codelists and concepts"),
    "ECB_EXR/sg-structure.xml": _loaded("the DSD with external-reference stubs of what it uses"),
    "ESTAT/CL_FREQ.xml": _loaded("an SDMX-ML 3.0 codelist"),
    "ESTAT/GOV_10Q_GGNFA.xml": _stubs("a DSD and concept scheme referring to ESTAT codelists not in the message "
                                      "(two versions of several)"),
    "ESTAT/HCL_WSTATUS_SCL_BNSPART.xml": _stubs(_SCL_WSTATUS),
    "ESTAT/HCL_WSTATUS_SCL_WSTATUSPR.xml": _stubs(_SCL_WSTATUS),
    "ESTAT/apro_mk_cola-structure.xml": _loaded("final DSD, dataflow, codelists and concepts"),
    "ESTAT/demography-structure.xml": _loaded("DSD with a measure dimension, dataflow, codelists and concepts"),
    "ESTAT/esms-structure.xml": _loaded("SDMX 2.1 metadata structure, category scheme and categorisations"),
    "SDMX/HCL_TEST_AREA.xml": _stubs("an SDMX-ML 3.0 hierarchy of two ESTAT codelists not defined here"),
    "SGR/common-structure.xml": _loaded("codelists and concepts"),
    "SGR/hierarchicalcodelist-0.xml": _stubs("hierarchical codelists of ESTAT codelists not defined here"),
    "SGR/metadatastructure-0.xml": _stubs("a metadata structure whose concept scheme is not defined here"),
    "TEST/gh-142.xml": _loaded("a codelist with annotations"),
    "TEST/gh-149.xml": _stubs("a DSD, dataflow and constraint whose codelists and concepts are not defined here"),
    "v21/xml/VTL/VTL_Sample_1.xml": _loaded("VTL schemes; DSDs with measure dimensions"),
    "v21/xml/VTL/VTL_Sample_2.xml": Expected(
        "refused", "the official sample puts a VtlMappingScheme where a reference belongs",
        "not valid SDMX-ML 2.1: line 299: Element 'str:VtlMappingScheme': This element is not expected."),
    "v21/xml/VTL/VTL_Sample_3.xml": _loaded("VTL schemes, DSDs and dataflows"),
    "v21/xml/common/common.xml": _loaded("codelists and concepts"),
    "v21/xml/demography/demography.xml": _loaded("DSD with a measure dimension, dataflow, codelists and concepts"),
    "v21/xml/demography/esms.xml": _loaded("SDMX 2.1 metadata structure, category scheme and categorisations"),
    "v21/xml/query/response_cl_all.xml": _loaded("a codelist"),
    "v21/xml/query/response_cl_regions.xml": _loaded("a partial codelist"),
    "v21/xml/query/response_demo_stub.xml": _loaded("a DSD as a stub"),
    "v21/xml/query/response_esms_children.xml": _stubs("a dataflow whose DSD ESTAT:DEMOGRAPHY is not in the message"),
    "v21/xml/query/response_esms_descendants.xml": _loaded("dataflows, DSD, codelists, concepts, categories"),
    "v3/json/metadata/constructed-sample.json": _stubs("SDMX-JSON metadata sets whose metadataflow and category "
                                                       "scheme are not defined here"),
    "v3/json/metadata/constructed-sample2.json": Expected(
        "refused", "the sample gives metadata set IMF:STRUCTURE_REPORT twice, with different content",
        "metadataset IMF:STRUCTURE_REPORT(1.0): given twice, with different content"),
    "v3/json/metadata/generated-sample.json": Expected(
        "refused", "a generated sample: a target URN of class Agency with ids SDMX does not allow",
        "/data/metadataSets/0/targets/1: no artefact kind holds a Agency"),
    "v3/json/structure/constructed-sample.json": _loaded("SDMX-JSON 2.0: agency scheme, codelists, concept "
                                                         "schemes, DSD, dataflow, categories"),
    "v3/json/structure/generated-sample.json": Expected(
        "refused", "a generated sample: a group names a dimension ('a') the structure does not have",
        "/data/dataStructures/0/dataStructureComponents/groups/0/groupDimensions/0: no dimension 'a'"),
    "v3/xml/ECB_EXR1.xml": _stubs("an SDMX-ML 3.0 DSD without its codelists and concepts"),
    "v3/xml/ECB_EXR_CA_DSD.xml": _stubs("an SDMX-ML 3.0 DSD (complex attributes) without its codelists and concepts"),
    "v3/xml/VTL_Sample_1.xml": _loaded("SDMX-ML 3.0 VTL schemes, DSDs, dataflows"),
    "v3/xml/VTL_Sample_2.xml": _stubs("SDMX-ML 3.0 VTL schemes mapping dataflows not defined here"),
    "v3/xml/VTL_Sample_3.xml": _stubs("SDMX-ML 3.0 VTL schemes mapping a dataflow not defined here"),
    "v3/xml/codelist - discriminated union.xml": _stubs("dataflows of DSD EXAMPLE:LABOUR(1.0.0), not defined here"),
    "v3/xml/codelist - extended.xml": _loaded("a codelist extending another"),
    "v3/xml/codelist.xml": _loaded("an SDMX-ML 3.0 codelist"),
    "v3/xml/conceptscheme.xml": _loaded("an SDMX-ML 3.0 concept scheme"),
    "v3/xml/dataflow.xml": _stubs("an SDMX-ML 3.0 dataflow whose DSD is not defined here"),
    "v3/xml/geospatial_geocomponents.xml": _stubs("an SDMX-ML 3.0 DSD with geospatial components, whose "
                                                  "codelist and concept schemes are not defined here"),
    "v3/xml/geospatial_geographiccodelist.xml": _loaded("an SDMX-ML 3.0 geographic codelist"),
    "v3/xml/geospatial_geogridcodelist.xml": _loaded("an SDMX-ML 3.0 geo grid codelist"),
    "v3/xml/valuelist.xml": _loaded("an SDMX-ML 3.0 value list"),
}


# -- the other files: what they are, read off their first element or member -----------------

_ML_NAMESPACE = "http://www.sdmx.org/resources/sdmxml/schemas/{}/message"
_ML_VERSIONS = {_ML_NAMESPACE.format(v): n for v, n in (("v2_1", "2.1"), ("v3_0", "3.0"), ("v3_1", "3.1"))}


def not_structures(path: Path) -> Expected | None:
    """What the loader must say of a data, metadata or query message (None for other files)."""
    if path.suffix == ".json":
        message = json.loads(path.read_bytes())
        data = message.get("data")
        if data is None:
            return Expected("refused", "an SDMX-JSON data message (no `data` member)", "it has no 'data'")
        if isinstance(data, dict) and "dataSets" in data:
            return Expected("refused", "an SDMX-JSON 2.0 data message", "it holds 'dataSets' (a data message?)")
        return None
    for _, element in etree.iterparse(str(path), events=("start",), resolve_entities=False, no_network=True):
        qname = etree.QName(element)
        version = _ML_VERSIONS.get(qname.namespace or "")
        if version is None or qname.localname == "Structure":
            return None
        if qname.localname in ("GenericMetadata", "StructureSpecificMetadata"):
            if version == "3.0" and qname.localname == "GenericMetadata":
                return None  # SDMX 3.0 metadata sets load: list the file in STRUCTURES
            return Expected("refused", f"an SDMX-ML {version} {qname.localname} message: the registry holds SDMX "
                                       "3.0 metadata sets only (SDMX 2.1 sets report against report structures)",
                            f"SDMX-ML {version} {qname.localname} is not loaded: only SDMX 3.0 metadata sets")
        return Expected("refused", f"an SDMX-ML {version} {qname.localname} message, not structures",
                        "expected an SDMX-ML 2.1, 3.0 or 3.1 structure message (message:Structure), found "
                        f"{qname.localname}")
    return None


def sample_files() -> list[str]:
    """Every .xml and .json file of the samples, relative to the folder ([] without it)."""
    root = samples_path()
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


def expected(name: str) -> Expected:
    if name in STRUCTURES:
        return STRUCTURES[name]
    found = not_structures(samples_path() / name)
    if found is None:
        raise AssertionError(f"{name}: a structure message not listed in tests/samples_expected.py STRUCTURES")
    return found


def loaded_files() -> list[str]:
    return sorted(n for n, e in STRUCTURES.items() if e.outcome != "refused")


#: The few samples also served from PostgreSQL (the rest is the same code on another backend):
#: names in three languages, SDMX-ML 3.0 VTL schemes, SDMX-JSON, a DSD with everything.
ON_POSTGRES = ("ECB_EXR/1/structure-full.xml", "ESTAT/GOV_10Q_GGNFA.xml", "v3/xml/VTL_Sample_1.xml",
               "v3/json/structure/constructed-sample.json")


# -- what a format cannot express: (file, artefact id, format) -> what the 406 names ------------
#    (words of the writer's NotExpressible message)
#
# Besides these, every kind a format lacks (the kinds table: Hierarchy, ValueList... in SDMX-ML
# 2.1; HierarchicalCodelist, StructureSet in SDMX 3.0) is a 406 in that format.

def fmt_of(row) -> str:
    """A media table row's format: "2.1", "3.0", "3.1", "json1.0", "json2.0", "json2.1"."""
    version = ".".join((row.version or "").split(".")[:2])
    return version if row.family == "xml" else f"json{version}"


def served_formats() -> set[str]:
    """The structure formats the server offers (REST v1's SDMX-ML 2.1 and every v2 row)."""
    from sdmx_server.formats import media

    return {"2.1"} | {fmt_of(r) for r in media.rows("structure", "v2")}


# What SDMX 3.0 cannot say is refused by SDMX-ML 3.0 and 3.1 and SDMX-JSON 2.0 and 2.1; what
# SDMX 2.1 cannot, by SDMX-ML 2.1 and SDMX-JSON 1.0.
_SDMX_30 = ("3.0", "3.1", "json2.0", "json2.1")
_SDMX_21 = ("2.1", "json1.0")
_MEASURE_DIMENSION = "measure dimension"
_NOT_EXPRESSIBLE_30 = {
    ("ECB_EXR/rg-structure-full.xml", "ECB_EXR_CG"): "attachment group",
    ("ECB_EXR/rg-structure.xml", "ECB_EXR_CG"): "attachment group",
    ("ESTAT/demography-structure.xml", "DEMOGRAPHY"): _MEASURE_DIMENSION,
    ("v21/xml/demography/demography.xml", "DEMOGRAPHY"): _MEASURE_DIMENSION,
    ("v21/xml/VTL/VTL_Sample_1.xml", "DS11"): _MEASURE_DIMENSION,
    ("v21/xml/VTL/VTL_Sample_1.xml", "DS1R1"): _MEASURE_DIMENSION,
}
_NOT_EXPRESSIBLE_21 = {
    ("v3/xml/geospatial_geographiccodelist.xml", "CL_ADMIN_AREA"): "GeographicCodelist",
    ("v3/xml/geospatial_geogridcodelist.xml", "CL_GRID_LOCATION"): "GeoGridCodelist",
}
_MSD_21 = "SDMX 2.1 metadata structure"
_ACTUAL = "constraint of actual content"
NOT_EXPRESSIBLE: dict[tuple[str, str, str], str] = {
    **{(f, a, fmt): why for (f, a), why in _NOT_EXPRESSIBLE_30.items() for fmt in _SDMX_30},
    **{(f, a, fmt): why for (f, a), why in _NOT_EXPRESSIBLE_21.items() for fmt in _SDMX_21},
    # SDMX-ML 3.0 types a code's str:Parent as an NCName (3.1 relaxed it): _T cannot be one.
    ("v3/json/structure/constructed-sample.json", "CL_CURRENCY", "3.0"): "parent id '_T' is not an NCName",
    # SDMX-JSON 2.0/2.1 refuse the metadata targets and report structures of an SDMX 2.1
    # metadata structure (SDMX-ML 3.0 writes its attribute list, without them).
    **{(f, a, fmt): _MSD_21 for f, a in (
        ("ESTAT/esms-structure.xml", "ESMS_SIMPLE"), ("v21/xml/demography/esms.xml", "ESMS_SIMPLE"),
        ("v21/xml/query/response_esms_children.xml", "ESMS_SIMPLE"), ("SGR/metadatastructure-0.xml", "SDG_MSD"),
    ) for fmt in ("json2.0", "json2.1")},
    # SDMX 3.1 has no constraints of actual content (availability constraints say it).
    **{(f, a, fmt): _ACTUAL for f, a in (
        ("BIS/actualconstraint-0.xml", "CBP_D_24D"), ("TEST/gh-149.xml", "CC_DF_SAMPLE_CURRENT_REV"),
    ) for fmt in ("3.1", "json2.1")},
}


# -- what a client cannot read of a valid answer: (file, artefact id, reader, format) -> why ------
#
# sdmx1 reads SDMX-ML 3.1 as 3.0 (the server's own reader does the same), so its 3.0 limits hold
# for 3.1 answers too.

_SDMX1_GROUP = ("sdmx1 2.28's SDMX-ML 3.0 reader fails (AttributeError: Measure) on an attribute related to a "
                "group (<str:Group> in an AttributeRelationship)")
_SDMX1_DATAFLOW = ("sdmx1 2.28's SDMX-ML 3.0 reader takes <str:Dataflow/> in an AttributeRelationship for a "
                   "dataflow definition, which takes the names and description of the DSD with it")
_SDMX1_COMPONENT = ("sdmx1 2.28's SDMX-ML 3.0 reader has no parser for str:Component (an attribute) in a "
                    "cube region (NotImplementedError)")
_SDMX1_HIERARCHY = "sdmx1 2.28's SDMX-ML 2.1 reader loses the name of a Hierarchy inside a HierarchicalCodelist"
_PYSDMX_GEO = "pysdmx 1.21 does not give geographic codelists as codelists (NotFound)"
_PYSDMX_JSON_STUB = ("pysdmx 1.21 fails (AttributeError) on an SDMX-JSON data structure stub, which has no "
                     "components")
_SDMX1_31_CONSTRAINT = ("sdmx1 2.28 reads SDMX-ML 3.1 as 3.0, and its reader fails (UnboundLocalError) on a data "
                        "constraint without a role, which SDMX 3.1 no longer gives")
_CLIENT_LIMITS_30 = {
    ("ECB_EXR/sg-structure-full.xml", "ECB_EXR_SG", "sdmx1"): _SDMX1_GROUP,
    ("ECB_EXR/sg-structure.xml", "ECB_EXR_SG", "sdmx1"): _SDMX1_GROUP,
    ("TEST/gh-149.xml", "DSD_SAMPLE_CURRENT_REV", "sdmx1"): _SDMX1_DATAFLOW,
}
_CLIENT_LIMITS_30.update({
    ("v3/xml/valuelist.xml", "VL_CURRENCY_SYMBOL", "sdmx1"): (
        "sdmx1 2.28 changes the order of value items when two share an id (¥ for CNY and JPY)"),
})
CLIENT_LIMITS: dict[tuple[str, str, str, str], str] = {
    **{(f, a, r, "3.0"): why for (f, a, r), why in _CLIENT_LIMITS_30.items()},
    **{(f, a, r, "3.1"): why for (f, a, r), why in _CLIENT_LIMITS_30.items()},
    **{(f, a, "pysdmx", fmt): _PYSDMX_GEO for f, a in (
        ("v3/xml/geospatial_geographiccodelist.xml", "CL_ADMIN_AREA"),
        ("v3/xml/geospatial_geogridcodelist.xml", "CL_GRID_LOCATION")) for fmt in _SDMX_30},
    **{(f, "DEMOGRAPHY", "pysdmx", fmt): _PYSDMX_JSON_STUB for f in (
        "ESTAT/esms-structure.xml", "v21/xml/demography/esms.xml", "v21/xml/query/response_demo_stub.xml",
        "v21/xml/query/response_esms_descendants.xml") for fmt in ("json2.0", "json2.1")},
    ("SGR/hierarchicalcodelist-0.xml", "HCL_TEST_AREA", "sdmx1", "2.1"): _SDMX1_HIERARCHY,
    ("TEST/gh-149.xml", "CC_DF_SAMPLE_CURRENT_REV", "sdmx1", "3.0"): _SDMX1_COMPONENT,  # (3.1: a 406)
    **{(f, a, "sdmx1", "3.1"): _SDMX1_31_CONSTRAINT for f, a in (
        ("ECB_EXR/1/structure-full.xml", "EXR_CONSTRAINTS"),
        ("v3/json/structure/constructed-sample.json", "EXR_CONSTRAINTS"),
        ("v3/xml/codelist - discriminated union.xml", "ISIC_CONSTRAINT"),
        ("v3/xml/codelist - discriminated union.xml", "NACE_CONSTRAINT"))},
}


# -- what the registry cannot hold of a sample: (file, artefact id) -> why -----------------------

KNOWN_LOSSES: dict[tuple[str, str], str] = {
    ("v21/xml/query/response_cl_regions.xml", "CL_AREA"): (
        "the codes of this partial codelist name a parent (GR) the list does not hold; the registry keeps "
        "a parent only as a code of the same codelist (sdmx1's model and the SDMX-JSON stored form), so "
        "they are served without it"),
}


# -- what the server cannot read back of its own answers: (file, artefact id, format) -> ---------
#    (why, a part of the load's error)

RELOAD_LIMITS: dict[tuple[str, str, str], tuple[str, str]] = {
    ("TEST/gh-149.xml", "CC_DF_SAMPLE_CURRENT_REV", "3.0"): (
        "SDMX-ML 3.0 is read through sdmx1, whose 2.28 reader has no parser for str:Component (an attribute "
        "selection) in a cube region", "NotImplementedError"),
}


# -- the document ---------------------------------------------------------------------------------

_WHAT = {
    "loaded": "loaded",
    "loaded with stubs": "loaded with stubs",
    "refused": "refused",
}

_HEAD = """# Conformance: the shared samples

What every file of the shared samples (`../shared/samples`: real messages of ECB, Eurostat, BIS,
the SDMX Global Registry and the official SDMX 2.1/3.0 samples) does when `sdmx-server
load-structures` loads it alone into an empty registry, and what then happens when its
artefacts are served. Each line is asserted by the tests (`tests/test_samples_loading.py`,
`tests/test_samples_served.py`, `tests/test_samples_changes.py`) from the tables in
`tests/samples_expected.py`, which also writes this file: `python -m tests.samples_expected`.
A test fails when this file differs from what the tables say.

Every artefact of a loaded file is fetched from a running server by its own URL, through REST
v1 (SDMX-ML 2.1) and REST v2 in every structure format of the media table; every answer is
valid against the official schemas, says in its XML what the sample says (names and
descriptions in every language, items in order with their parents, attribute usage), reads
back with sdmx1 (and pysdmx, for codelists, concept schemes, DSDs and dataflows) into an
artefact equal to the original, and loads back into another registry as the same stored form.
"""

_FORMAT_LOSSES = """## What a format does not carry (compared without it)

SDMX-JSON 1.0 says what SDMX 2.1 says, SDMX-JSON 2.0 and 2.1 what SDMX 3.0 says:

- SDMX 2.1 (SDMX-ML 2.1, SDMX-JSON 1.0): the GeospatialInformation text type (written as
  String), a primary measure's usage; SDMX 3.0 kinds (Hierarchy, ValueList, ...) are 406; an
  extended codelist is served resolved (its own and its inherited codes), never as stored.
- SDMX 3.0 (SDMX-ML 3.0 and 3.1, SDMX-JSON 2.0 and 2.1): `isFinal` (finality is the version's),
  the position of the time dimension (it comes last), SDMX 2.1 metadata targets and report
  structures (SDMX-ML writes an MSD's attribute list, SDMX-JSON refuses it); SDMX 2.1 kinds
  (HierarchicalCodelist, StructureSet) are 406. An extended codelist is served resolved with
  `detail=full` and as stored with `detail=raw`; both are checked.
- SDMX-JSON 1.0 lists a metadata target's objects by type: their order is not kept.
- Every format: a nameless artefact or item is written with its id as its name (the schemas
  require a Name); ESTAT/apro_mk_cola's time dimension of text type String (which SDMX does
  not allow) is written as ObservationalTimePeriod.
"""

_REPAIRS = """## What sdmx1 reads wrongly from the samples, put right when loading

The registry reads SDMX-ML through sdmx1 2.28 and puts right, from the message's XML, what it
misreads (`sdmx_server/registry/sdmx1_repairs.py`): names lost (ISO:CL_CURRENCY in the ECB
`*-structure.xml` stubs, ECB:GLOBAL_MAPPINGS, the VTL schemes, the hierarchies of SGR's
SDMX:HCL_TEST_AREA, the levels of SDMX/HCL_TEST_AREA.xml), item schemes without items taken
for external references (SDMX:CL_SECTOR in the VTL samples, the ESMS schemes of
`response_esms_children.xml`), items added that the message only refers to (the ESMS concepts,
the maintaining agency in ECB/orgscheme.xml's ECB:AGENCIES), children of nested categories in
reverse order (ESTAT:DATAFLOWS_SCHEME), value items out of order (v3/xml/valuelist.xml), item
attributes dropped (the VTL samples' isPersistent, rulesetType, rulesetScope, vtlArtefact and
alias; the values of v3/xml/geospatial_geographiccodelist.xml's codes), a measure dimension's
concept scheme taken for a codelist (VTL_Sample_1's DS11 and DS1R1), SDMX-ML 3.0 attribute
usage ignored (v3/xml/ECB_EXR1.xml), and, in the server's own answers, SDMX-ML 3.0 attribute
relationships to the dataflow or a group and SDMX-ML 3.1 data constraints (no role).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_name(fmt: str) -> str:
    """"3.0" -> "SDMX-ML 3.0", "json2.0" -> "SDMX-JSON 2.0"."""
    return f"SDMX-JSON {fmt[4:]}" if fmt.startswith("json") else f"SDMX-ML {fmt}"


def _by_format(table: dict) -> list[tuple[tuple, str, str]]:
    """Rows of a table keyed (..., format), the formats of one row and reason joined."""
    grouped: dict[tuple, list[str]] = {}
    for key, why in sorted(table.items()):
        grouped.setdefault((key[:-1], why), []).append(format_name(key[-1]))
    return [(key, ", ".join(formats), why) for (key, why), formats in grouped.items()]


def render(files: list[str]) -> str:
    lines = [_HEAD, "## Every file", "",
             "*Loaded with stubs*: without `--allow-missing-references` the load is refused, naming each "
             "missing reference; with it, the missing artefacts are recorded as external-reference stubs.", "",
             "| File | What happens | Why |", "| --- | --- | --- |"]
    for name in files:
        e = expected(name)
        lines.append(f"| `{name}` | {_WHAT[e.outcome]} | {_cell(e.why)} |")
    lines += ["", "## What a format cannot express (406 in that format)", "",
              "Besides the kinds a format lacks:", "", "| File | Artefact | Format | What it cannot say |",
              "| --- | --- | --- | --- |"]
    formats_here = served_formats()
    for (name, artefact), formats, why in _by_format({k: v for k, v in NOT_EXPRESSIBLE.items()
                                                      if k[-1] in formats_here}):
        lines.append(f"| `{name}` | {artefact} | {formats} | {_cell(why)} |")
    lines += ["", "## What clients cannot read of valid answers", "",
              "| File | Artefact | Reader | Format | Why |", "| --- | --- | --- | --- | --- |"]
    for (name, artefact, reader), formats, why in _by_format({k: v for k, v in CLIENT_LIMITS.items()
                                                              if k[-1] in formats_here}):
        lines.append(f"| `{name}` | {artefact} | {reader} | {formats} | {_cell(why)} |")
    lines += ["", "## What the registry cannot hold, or read back", "", "| File | Artefact | Why |",
              "| --- | --- | --- |"]
    for (name, artefact), why in sorted(KNOWN_LOSSES.items()):
        lines.append(f"| `{name}` | {artefact} | {_cell(why)} |")
    for (name, artefact, fmt), (why, _) in sorted(k for k in RELOAD_LIMITS.items() if k[0][-1] in formats_here):
        lines.append(f"| `{name}` | {artefact} | its {format_name(fmt)} answer cannot be loaded again: {_cell(why)} |")
    lines += ["", _FORMAT_LOSSES, _REPAIRS]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    DOCUMENT.write_text(render(sample_files()), encoding="utf-8")
    print(f"wrote {DOCUMENT}")
