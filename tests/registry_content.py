"""A registry holding as many kinds of artefact as the server can hold, served by a real server.

What it holds (`registry_server`):
- the test content (tests/content: agency TEST) and the project's demo structures (`dsd/`,
  `codelists/`: agency SSO), loaded from their authoring files;
- a few real messages from the samples folder (SAMPLES), with missing references recorded as
  external-reference stubs;
- BUILT: an SDMX-JSON 2.0 structure message, written here by hand, for the kinds neither the
  content nor the samples have (provider, consumer and metadata provider schemes, provision
  agreements, metadataflows, reporting taxonomies, hierarchy associations, the VTL schemes,
  and a structure map
  and a process, which the registry stores but cannot serve) and for links to the test content
  (a category scheme categorising its dataflows, a constraint, a hierarchy).
  Built artefacts have semantic versions, so REST v2's `+` finds them.

`expected()` gives what was loaded as sdmx1 objects, read from the same files by other code
paths than the server's (the authoring reader, sdmx1's SDMX-ML readers, the codec on the
SDMX-JSON message), keyed by URN: the oracle every answer is compared with.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from tests.conftest import ROOT, fresh_database, running_server, samples_path
from tests.datasets import CONTENT

#: Real messages loaded (paths under the samples folder), for the kinds they hold.
SAMPLES = (
    "ECB_EXR/1/structure-full.xml",  # SDMX-ML 2.1: a full DSD, its dataflow, constraint, categorisation
    "ESTAT/esms-structure.xml",  # SDMX-ML 2.1: category scheme, metadata structure (2.1 form)
    "v3/json/structure/constructed-sample.json",  # SDMX-JSON 2.0
    "v3/xml/codelist - discriminated union.xml",  # SDMX-ML 3.0: data constraints, agency scheme
    "v3/xml/valuelist.xml",  # SDMX-ML 3.0: a value list
    "ESTAT/HCL_WSTATUS_SCL_BNSPART.xml",  # SDMX-ML 3.0: a hierarchy
    "BIS/actualconstraint-0.xml",  # SDMX-ML 2.1: an actual (not allowed) constraint
)
# Not loaded: samples whose artefacts lack what the schemas require (no Name: SGR's and SDMX's
# hierarchical codelists, ECB's structure set; VTL attributes sdmx1 drops: the VTL samples), so
# that no schema-valid answer holds them (see docs/conformance-samples.md). The demo has a
# hierarchical codelist and a structure set; BUILT has the VTL schemes.

#: The authoring folders, in load order.
AUTHORED = ((CONTENT / "codelists", CONTENT / "dsd"), (ROOT / "codelists", ROOT / "dsd"))

_URN = "urn:sdmx:org.sdmx.infomodel."
DF_A = f"{_URN}datastructure.Dataflow=TEST:DF_A(1.0)"
DF_B = f"{_URN}datastructure.Dataflow=TEST:DF_B(1.0)"
DSD_TEST = f"{_URN}datastructure.DataStructure=TEST:DSD_TEST(1.0)"
CL_AREA = f"{_URN}codelist.Codelist=TEST:CL_AREA(1.0)"
CS_TEST = f"{_URN}conceptscheme.ConceptScheme=TEST:CS_TEST(1.0)"


def _texts(en: str, fa: str) -> dict:
    return {"name": en, "names": {"en": en, "fa": fa}}


#: Written by hand from the SDMX-JSON 2.0.0 structure schema; tests check it is schema-valid.
BUILT: dict = {
    "meta": {
        "id": "BUILT", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "TEST"},
        "schema": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/v2.0.0/structure-message/tools/schemas/"
                  "2.0.0/sdmx-json-structure-schema.json",
        "contentLanguages": ["en", "fa"],
    },
    "data": {
        # A dataflow in a stable and a later draft version: REST v2's '+' finds the first, '~'
        # the second.
        "dataflows": [
            {"id": "DF_C", "agencyID": "TEST", "version": version, **_texts(f"Flow C {version}", "جریان ج"),
             "structure": DSD_TEST}
            for version in ("1.0.0", "1.1.0-draft")
        ],
        "categorySchemes": [{
            "id": "THEMES", "agencyID": "TEST", "version": "1.0.0", **_texts("Statistical themes", "موضوعات آماری"),
            "annotations": [{"id": "ORDER", "type": "ORDER", "text": "1", "texts": {"en": "1"}}],
            "categories": [
                {"id": "ECO", **_texts("Economy", "اقتصاد"), "categories": [
                    {"id": "PRICES", **_texts("Prices", "قیمت‌ها")},
                    {"id": "LABOUR", **_texts("Labour", "کار")},
                ]},
                {"id": "SOC", **_texts("Society", "جامعه"), "categories": [
                    {"id": "POP", **_texts("Population", "جمعیت")},
                ]},
            ],
        }],
        "categorisations": [
            {"id": "CAT_DF_A", "agencyID": "TEST", "version": "1.0.0", **_texts("DF_A in population", "الف در جمعیت"),
             "source": DF_A, "target": f"{_URN}categoryscheme.Category=TEST:THEMES(1.0.0).SOC.POP"},
            {"id": "CAT_DF_B", "agencyID": "TEST", "version": "1.0.0", **_texts("DF_B in prices", "ب در قیمت‌ها"),
             "source": DF_B, "target": f"{_URN}categoryscheme.Category=TEST:THEMES(1.0.0).ECO.PRICES"},
        ],
        "dataConstraints": [{
            "id": "CC_DF_A", "agencyID": "TEST", "version": "1.0.0", **_texts("Areas of DF_A", "مناطق الف"),
            "role": "Allowed",
            "constraintAttachment": {"dataflows": [DF_A]},
            "cubeRegions": [{"include": True, "keyValues": [
                {"id": "AREA", "values": ["IR", "IR-23"]},
                {"id": "FREQ", "values": ["M", "Q"]},
            ]}],
        }],
        "dataProviderSchemes": [{
            "id": "DATA_PROVIDERS", "agencyID": "TEST", "version": "1.0", **_texts("Data providers", "تأمین‌کنندگان"),
            "dataProviders": [{"id": "STAT_DEPT", **_texts("Statistics department", "اداره آمار")}],
        }],
        "dataConsumerSchemes": [{
            "id": "DATA_CONSUMERS", "agencyID": "TEST", "version": "1.0", **_texts("Data consumers", "مصرف‌کنندگان"),
            "dataConsumers": [{"id": "MINISTRY", **_texts("The ministry", "وزارتخانه")}],
        }],
        "metadataProviderSchemes": [{
            "id": "METADATA_PROVIDERS", "agencyID": "TEST", "version": "1.0",
            **_texts("Metadata providers", "تأمین‌کنندگان فراداده"),
            "metadataProviders": [{"id": "WORKING_GROUP", **_texts("Working group", "کارگروه")}],
        }],
        # DF_B, not DF_A, has the provision agreement, the hierarchy association, the metadataflow
        # and the VTL mapping: sdmx1's SDMX-ML 3.0 reader reads none of them (nor data provider
        # schemes), so what DF_A refers to and is referred by stays readable by sdmx1 in both modes.
        "provisionAgreements": [{
            "id": "PA_DF_B", "agencyID": "TEST", "version": "1.0.0", **_texts("DF_B from the department", "ب از اداره"),
            "dataflow": DF_B,
            "dataProvider": f"{_URN}base.DataProvider=TEST:DATA_PROVIDERS(1.0).STAT_DEPT",
        }],
        "hierarchies": [{
            "id": "H_AREA", "agencyID": "TEST", "version": "1.0.0", **_texts("Areas by province", "مناطق به استان"),
            "hasFormalLevels": False,
            "hierarchicalCodes": [{
                "id": "IR", "code": f"{_URN}codelist.Code=TEST:CL_AREA(1.0).IR",
                "hierarchicalCodes": [
                    {"id": "IR-23", "code": f"{_URN}codelist.Code=TEST:CL_AREA(1.0).IR-23"},
                    {"id": "IR-10", "code": f"{_URN}codelist.Code=TEST:CL_AREA(1.0).IR-10"},
                ],
            }],
        }],
        "hierarchyAssociations": [{
            "id": "HA_AREA", "agencyID": "TEST", "version": "1.0.0", **_texts("Areas of DF_B", "مناطق ب"),
            "linkedHierarchy": f"{_URN}codelist.Hierarchy=TEST:H_AREA(1.0.0)",
            # Linked to the dataflow, not to the DSD's AREA dimension, so that DSD_TEST's parents
            # stay readable by sdmx1 too.
            "linkedObject": DF_B,
        }],
        "metadataStructures": [{
            "id": "MSD_INDICATORS", "agencyID": "TEST", "version": "1.0.0",
            **_texts("Indicator definitions", "تعریف شاخص‌ها"),
            "metadataStructureComponents": {"metadataAttributeList": {
                "id": "MetadataAttributeDescriptor",
                "metadataAttributes": [
                    {"id": "FREQ", "conceptIdentity": f"{_URN}conceptscheme.Concept=TEST:CS_TEST(1.0).FREQ",
                     "minOccurs": 0, "maxOccurs": 1, "isPresentational": False},
                ],
            }},
        }],
        "metadataflows": [{
            "id": "MDF_INDICATORS", "agencyID": "TEST", "version": "1.0.0",
            **_texts("Indicator definitions", "تعریف شاخص‌ها"),
            "structure": f"{_URN}metadatastructure.MetadataStructure=TEST:MSD_INDICATORS(1.0.0)",
            "targets": [DF_B],
        }],
        # VTL: every scheme, referring to one another as a transformation scheme does.
        "customTypeSchemes": [{
            "id": "CTS", "agencyID": "TEST", "version": "1.0.0", **_texts("Custom types", "نوع‌ها"), "vtlVersion": "2.0",
            "customTypes": [{"id": "DATE_ISO", **_texts("ISO dates", "تاریخ"), "vtlScalarType": "date",
                             "dataType": "GregorianDay", "outputFormat": "YYYY-MM-DD"}],
        }],
        "namePersonalisationSchemes": [{
            "id": "NPS", "agencyID": "TEST", "version": "1.0.0", **_texts("Names", "نام‌ها"), "vtlVersion": "2.0",
            "namePersonalisations": [{"id": "OBS", **_texts("Observation", "مشاهده"), "vtlDefaultName": "obs_value",
                                      "personalisedName": "OBS_VALUE", "vtlArtefact": "variable"}],
        }],
        "vtlMappingSchemes": [{
            "id": "VMS", "agencyID": "TEST", "version": "1.0.0", **_texts("VTL aliases", "نام‌های مستعار"),
            "vtlMappings": [
                {"id": "M_DF_B", **_texts("Flow B", "جریان ب"), "alias": "flow_b", "dataflow": DF_B},
                {"id": "M_AREA", **_texts("Areas", "مناطق"), "alias": "areas", "codelist": CL_AREA},
            ],
        }],
        "rulesetSchemes": [{
            "id": "RS", "agencyID": "TEST", "version": "1.0.0", **_texts("Rulesets", "قواعد"), "vtlVersion": "2.0",
            "vtlMappingScheme": f"{_URN}transformation.VtlMappingScheme=TEST:VMS(1.0.0)",
            "rulesets": [{"id": "POSITIVE", **_texts("Positive values", "مقادیر مثبت"), "rulesetType": "datapoint",
                          "rulesetScope": "variable",
                          "rulesetDefinition": "define datapoint ruleset positive (variable obs_value) is "
                                               "r1: obs_value >= 0 errorcode \"negative\" end datapoint ruleset;"}],
        }],
        "userDefinedOperatorSchemes": [{
            "id": "UDOS", "agencyID": "TEST", "version": "1.0.0", **_texts("Operators", "عملگرها"), "vtlVersion": "2.0",
            "vtlMappingScheme": f"{_URN}transformation.VtlMappingScheme=TEST:VMS(1.0.0)",
            "userDefinedOperators": [{"id": "TWICE", **_texts("Twice", "دو برابر"),
                                      "operatorDefinition": "define operator twice (x number) returns number is "
                                                            "x * 2 end operator;"}],
        }],
        "transformationSchemes": [{
            "id": "TS", "agencyID": "TEST", "version": "1.0.0", **_texts("Transformations", "تبدیل‌ها"),
            "vtlVersion": "2.0",
            "vtlMappingScheme": f"{_URN}transformation.VtlMappingScheme=TEST:VMS(1.0.0)",
            "namePersonalisationScheme": f"{_URN}transformation.NamePersonalisationScheme=TEST:NPS(1.0.0)",
            "customTypeScheme": f"{_URN}transformation.CustomTypeScheme=TEST:CTS(1.0.0)",
            "rulesetSchemes": [f"{_URN}transformation.RulesetScheme=TEST:RS(1.0.0)"],
            "userDefinedOperatorSchemes": [f"{_URN}transformation.UserDefinedOperatorScheme=TEST:UDOS(1.0.0)"],
            "transformations": [{"id": "DOUBLED", **_texts("Doubled", "دو برابر شده"),
                                 "expression": "twice(flow_b)", "result": "doubled", "isPersistent": False}],
        }],
        # Kinds sdmx1 does not model: the registry stores them, the API answers 501 for them and
        # leaves them out of answers for any type and of references.
        "structureMaps": [{
            "id": "SM_A_B", "agencyID": "TEST", "version": "1.0.0", **_texts("DF_A to DF_B", "الف به ب"),
            "source": DF_A, "target": DF_B,
        }],
        "processes": [{"id": "P_TEST", "agencyID": "TEST", "version": "1.0.0", **_texts("A process", "یک فرایند")}],
        "reportingTaxonomies": [{
            "id": "RT_TEST", "agencyID": "TEST", "version": "1.0.0", **_texts("Reporting", "گزارش‌دهی"),
            # No structuralMetadata/provisioningMetadata: sdmx1's ReportingCategory has no field
            # for them, and the codec drops them.
            "reportingCategories": [{"id": "MONTHLY", **_texts("Monthly returns", "گزارش‌های ماهانه")}],
        }],
    },
}


def built_message() -> bytes:
    return json.dumps(BUILT, ensure_ascii=False).encode("utf-8")


TEST_CODELISTS = {f"{_URN}codelist.Codelist=TEST:{c}(1.0)" for c in
                  ("CL_AREA", "CL_FREQ", "CL_SEX", "CL_OBS_STATUS", "CL_UNIT_MULT")}


def version_of(urn: str) -> str:
    return urn[:-1].rsplit("(", 1)[1]


def latest(urns: set[str]) -> set[str]:
    """The latest version of each artefact (by kind, agency and id) among these URNs."""
    from sdmx_server.versions import version_key

    best: dict[str, str] = {}
    for urn in urns:
        head = urn[:-1].rsplit("(", 1)[0]
        if head not in best or version_key(version_of(urn)) > version_key(version_of(best[head])):
            best[head] = urn
    return set(best.values())


# -- the server ---------------------------------------------------------------------------------


class RegistryServer:
    """A running server over the registry described above."""

    def __init__(self, url: str, settings, stored: dict):
        self.url = url
        self.settings = settings
        #: URN -> the store's row (kind, agency, id, version, is_stub, access...) of every
        #: artefact the registry held when the server started, external-reference stubs included.
        self.stored = stored

    def urns(self, kind: str, *, stubs: bool = True, internal: bool = False) -> set[str]:
        hidden = set() if internal else self.hidden
        return {urn for urn, row in self.stored.items()
                if row.kind == kind and (stubs or not row.is_stub) and urn not in hidden}

    @property
    def hidden(self) -> set[str]:
        if not hasattr(self, "_hidden"):
            self._hidden = hidden_from_public(self.stored)
        return self._hidden

    def rest(self, path: str) -> str:
        return f"{self.url}/rest/{path.lstrip('/')}"


def hidden_from_public(stored: dict) -> set[str]:
    """The URNs the public may not see, by issue 8's rule said again here from the stored
    references: non-public dataflows, what only they use (through references, at any depth),
    and whatever refers to something hidden (a constraint, a categorisation...) unless a public
    dataflow uses it."""
    import json

    refs = {urn: [t for t in json.loads(row.refs or "[]") if t in stored] for urn, row in stored.items()}

    def reach(start: list[str]) -> set[str]:
        found, todo = set(start), list(start)
        while todo:
            for target in refs[todo.pop()]:
                if target not in found:
                    found.add(target)
                    todo.append(target)
        return found

    flows = [urn for urn, row in stored.items() if row.kind == "dataflow"]
    public_uses = reach([u for u in flows if stored[u].access == "public"])
    hidden = reach([u for u in flows if stored[u].access != "public"]) - public_uses
    grew = True
    while grew:
        more = {u for u, targets in refs.items()
                if u not in hidden and u not in public_uses and any(t in hidden for t in targets)}
        hidden |= more
        grew = bool(more)
    return hidden


def load_registry(url: str, directory: Path, settings) -> dict:
    """Load everything into the (empty) database at `url`; URN -> stored row of what it holds."""
    from sdmx_server.boot import create_schema
    from sdmx_server.kinds import BY_NAME
    from sdmx_server.registry.load import load_structures
    from sdmx_server.registry.store import read_all
    from sdmx_server.store.database import Database

    db = Database(url)
    create_schema(db)
    try:
        for group in AUTHORED:
            outcome = load_structures(db, list(group), settings)
            assert outcome.ok, outcome.errors
        samples = samples_path()
        for name in SAMPLES:
            outcome = load_structures(db, [samples / name], settings, allow_missing_references=True)
            assert outcome.ok, (name, outcome.errors)
        built = directory / "built.json"
        built.write_bytes(built_message())
        outcome = load_structures(db, [built], settings)
        assert outcome.ok, outcome.errors
        rows, _ = read_all(db)
    finally:
        db.dispose()
    return {BY_NAME[r.kind].urn(r.agency, r.id, r.version): r for r in rows}


@contextmanager
def registry_server(backend: str, directory: Path):
    from sdmx_server.settings import Settings

    with fresh_database(backend, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        stored = load_registry(url, directory, settings)
        with running_server(settings) as server:
            yield RegistryServer(server.url, settings, stored)


# -- what was loaded, read by other code paths -----------------------------------------------------


def _quiet_read(path: Path):
    import sdmx

    logger = logging.getLogger("sdmx")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return sdmx.read_sdmx(path)
    finally:
        logger.setLevel(previous)


@lru_cache(maxsize=1)
def expected() -> dict[str, object]:
    """URN -> the artefact as loaded (sdmx1 objects), for everything a test compares."""
    from sdmx_server.kinds import kind_of
    from sdmx_server.registry.authoring import read_authoring
    from sdmx_server.registry.codec import from_json, read_structure_message, supported
    from sdmx_server.registry.index import artefact_key

    found: dict[str, object] = {}

    def add(artefact) -> None:
        # A later file replaces what an earlier one gave (constructed-sample.json redefines
        # ECB:EXR_CONSTRAINTS(1.0)), as the registry replaces artefacts that are not final.
        if getattr(artefact, "is_external_reference", False):
            return
        kind = kind_of(artefact)
        found[kind.urn(*artefact_key(artefact))] = artefact

    for group in AUTHORED:
        result = read_authoring(list(group), [a for a in found.values()])
        assert not result.errors, result.errors
        for artefact in result.artefacts:
            add(artefact)
    samples = samples_path()
    for name in SAMPLES:
        path = samples / name
        if path.suffix == ".json":
            for kind, obj in read_structure_message(path.read_bytes()):
                add(from_json(kind, obj, lambda urn: None))
            continue
        message = _quiet_read(path)
        for collection, _ in message.iter_collections():
            for artefact in getattr(message, collection).values():
                with contextlib.suppress(ValueError):
                    add(artefact)
    for kind, obj in read_structure_message(built_message()):
        if supported(kind):
            add(from_json(kind, obj, lambda urn: None))
    return found
