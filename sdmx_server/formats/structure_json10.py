"""SDMX-JSON 1.0.0 structure messages (SDMX 2.1), for REST v1 and for REST v2 clients that ask.

A child of the SDMX-JSON 2.0.0 writer that turns the stored form (SDMX 3.0 shapes) into the
SDMX 2.1 shapes of SDMX-JSON 1.0, and puts back what the stored form keeps in `x-sdmx` for
SDMX 2.1 (isFinal, measure dimensions, attachment groups, the time dimension's position,
metadata targets and report structures). This module has what every artefact of 1.0 shares
(version, isFinal, URNs and references, annotations, representations) and the item schemes;
data structures, constraints and metadata structures are in structure_json10_parts.

SDMX 2.1 cannot say what SDMX 3.0 added, and such an artefact raises NotExpressible:
semantic versions with an extension (1.0.0-draft) and version wildcards in references
(1.0+.0), value lists, hierarchies and the other SDMX 3.0 kinds, VTL schemes (SDMX-JSON 1.0
has no collection for them), geographic codelists and codelist extensions, several measures,
attribute relationships to measures, metadata attribute usages, a data structure's metadata
structure, sentinel values and multiplicities of representations, metadataflow targets.
Annotation values (SDMX 3.0's AnnotationValue) are left out, as the SDMX-ML 2.1 writer does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sdmx.model.common import MaintainableArtefact

from sdmx_server import kinds
from sdmx_server.formats import structure_json10_parts as parts
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_json20 import Writer20
from sdmx_server.formats.structure_json_base import NotExpressible
from sdmx_server.types import ArtefactDetail

__all__ = ["NotExpressible", "Writer10", "structure_message"]

#: SDMX 2.1 versions (VersionType of SDMX-JSON 1.0 and SDMX-ML 2.1).
VERSION = re.compile(r"[0-9]+(\.[0-9]+)*")
#: Final by its version: semantic, without extension (see the plan's "Finality").
SEMANTIC_FINAL = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*)){2}")
_URN = re.compile(r"(urn:sdmx:org\.sdmx\.infomodel\.\w+\.)(\w+)(=[^:()]+:[^:()]+\()([^()]*)(\).*)", re.S)
#: URN classes SDMX 2.1 names otherwise than the stored form (SDMX 3.0).
URN_CLASSES = {"DataConstraint": "ContentConstraint", "Measure": "PrimaryMeasure"}
#: URN classes of what SDMX 2.1 does not have.
SDMX30_CLASSES = {"ValueList", "Valuelist", "Hierarchy", "HierarchyAssociation", "MetadataConstraint",
                  "MetadataProviderScheme", "MetadataProvider", "MetadataProvisionAgreement", "GeoFeatureSetCode",
                  "GeoGridCode"}
#: SDMX 3.0 data types and what SDMX 2.1 calls them (as the SDMX-ML 2.1 writer writes them).
DATA_TYPES = {"GeospatialInformation": "String"}
#: Item scheme kinds whose items name their parent: by id in 1.0 too (codes), or by URN.
PARENT_URNS = {"conceptscheme", "organisationunitscheme"}


class Writer10(Writer20):
    """SDMX-JSON 1.0.0."""

    version = "1.0.0"
    format_name = "SDMX-JSON 1.0.0"
    schema_url = ("https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/tools/schemas/"
                  "1.0/sdmx-json-structure-schema.json")
    column = "json10"
    value_list_class = "ValueList"  # a reference to one is refused, not respelt

    def says_sdmx21(self, member: str) -> bool:
        return True

    def collection(self, kind: kinds.Kind, obj: dict) -> str:
        if obj.get("geoType"):
            raise self.not_expressible(f"a {obj['geoType']}")
        return super().collection(kind, obj)

    # -- what every artefact has -----------------------------------------------------------

    def header(self, kind: kinds.Kind, obj: dict, x: dict) -> dict:
        version = obj.get("version", "1.0")
        if not VERSION.fullmatch(version):
            raise self.not_expressible(f"version {version!r}")
        obj["isFinal"] = bool(x.get("isFinal")) or bool(SEMANTIC_FINAL.fullmatch(version))
        if kind.name == "provisionagreement" and "dataflow" in obj:
            obj["structureUsage"] = obj.pop("dataflow")
        return obj

    def stub(self, kind: kinds.Kind, obj: dict, detail: ArtefactDetail) -> dict:
        out = super().stub(kind, obj, detail)
        out["isFinal"] = obj["isFinal"]
        if kind.name == "provisionagreement":  # the schema requires both, even of a stub
            for member in ("structureUsage", "dataProvider"):
                if member in obj:
                    out[member] = obj[member]
        return self.sdmx21(out)

    def urn(self, kind: kinds.Kind, obj: dict) -> str:
        cls = kind.ml21[0] if kind.ml21 else kind.urn_class
        version = obj.get("version", "1.0")
        return f"urn:sdmx:org.sdmx.infomodel.{kind.package}.{cls}={obj['agencyID']}:{obj['id']}({version})"

    def sdmx21(self, value: Any) -> Any:
        """`value` with annotation values left out and every reference checked and spelt as
        SDMX 2.1 spells it (ContentConstraint for DataConstraint...), walked in place."""
        stack = [value]
        while stack:
            v = stack.pop()
            if type(v) is list:
                for i, item in enumerate(v):
                    t = type(item)
                    if t is str:
                        if item.startswith("urn:"):
                            v[i] = self.reference(item)
                    elif t is dict or t is list:
                        stack.append(item)
                continue
            for key, item in v.items():
                t = type(item)
                if t is str:
                    if item.startswith("urn:") and key not in ("uri", "href"):
                        v[key] = self.reference(item)
                elif t is list:
                    if key == "annotations":
                        for a in item:
                            a.pop("value", None)
                    stack.append(item)
                elif t is dict and key not in ("names", "descriptions", "texts"):
                    stack.append(item)
        return value

    def reference(self, urn: str) -> str:
        m = _URN.fullmatch(urn)
        if m is None:
            return urn
        head, cls, middle, version, tail = m.groups()
        if cls in SDMX30_CLASSES:
            raise self.not_expressible(f"a reference to a {cls} ({urn})")
        if not VERSION.fullmatch(version):
            raise self.not_expressible(f"a reference to version {version!r} ({urn})")
        return f"{head}{URN_CLASSES.get(cls, cls)}{middle}{version}{tail}"

    def entry(self, artefact: MaintainableArtefact, detail: ArtefactDetail) -> tuple[str, dict]:
        collection, obj = super().entry(artefact, detail)
        if detail == "full":
            self.sdmx21(obj)
        return collection, obj

    # -- representations -------------------------------------------------------------------

    def representation(self, rep: dict | None, *, time: bool = False) -> dict | None:
        """localRepresentation / coreRepresentation: 1.0 says textFormat and textType."""
        if rep is None:
            # SDMX 2.1 requires a time dimension's text format; its default type is this one
            return {"textFormat": {"textType": "ObservationalTimePeriod"}} if time else None
        if "minOccurs" in rep or "maxOccurs" in rep:
            raise self.not_expressible("a representation with minOccurs/maxOccurs (several values)")
        out: dict[str, Any] = {}
        if "enumeration" in rep:
            out["enumeration"] = rep["enumeration"]
        for member, target in (("enumerationFormat", "enumerationFormat"), ("format", "textFormat")):
            if member in rep:
                out[target] = self.text_format(rep[member])
        return out

    def text_format(self, fmt: dict) -> dict:
        if "sentinelValues" in fmt:
            raise self.not_expressible("sentinel values of a text format")
        out = dict(fmt)
        data_type = out.pop("dataType", None)
        if data_type is not None:
            out["textType"] = DATA_TYPES.get(data_type, data_type)
        return out

    # -- item schemes ----------------------------------------------------------------------

    def kind_codelist(self, obj: dict, x: dict) -> dict:
        if "codelistExtensions" in obj:
            raise self.not_expressible("a codelist extension")
        return obj

    def kind_conceptscheme(self, obj: dict, x: dict) -> dict:
        for concept in obj.get("concepts", ()):
            rep = self.representation(concept.get("coreRepresentation"))
            if rep is not None:
                concept["coreRepresentation"] = rep
            iso = concept.get("isoConceptReference")
            if iso is not None:
                # 1.0 gives a URN (without version: the ISO concept reference has none)
                concept["isoConceptReference"] = (
                    f"urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept={iso['conceptAgency']}:"
                    f"{iso['conceptSchemeID']}(1.0).{iso['conceptID']}")
        self.parent_urns(obj, "concepts", "Concept")
        return obj

    def kind_organisationunitscheme(self, obj: dict, x: dict) -> dict:
        self.parent_urns(obj, "organisationUnits", "OrganisationUnit")
        return obj

    def parent_urns(self, obj: dict, member: str, item_class: str) -> None:
        """Parents by URN, as 1.0 says them for concepts and organisation units."""
        base = self.urn(kinds.kind_of(self.artefact), obj)
        head, _, rest = base.partition("=")
        prefix = f"{head.rsplit('.', 1)[0]}.{item_class}={rest}."
        for item in obj.get(member, ()):
            if "parent" in item:
                item["parent"] = prefix + item["parent"]

    # -- others ----------------------------------------------------------------------------

    kind_datastructure = parts.data_structure
    kind_dataconstraint = parts.data_constraint
    kind_metadatastructure = parts.metadata_structure

    def kind_metadataflow(self, obj: dict, x: dict) -> dict:
        if obj.get("targets"):
            raise self.not_expressible("the targets of a metadataflow")
        return obj


def structure_message(
    entries: Iterable[tuple[MaintainableArtefact, ArtefactDetail]],
    header: Header,
    languages: tuple[str, ...] | None = None,
) -> bytes:
    """A whole SDMX-JSON 1.0.0 structure message; `languages` keeps only those languages of
    every text (None: all)."""
    return Writer10(languages).message(entries, header)
