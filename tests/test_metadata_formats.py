"""The reference metadata writers (SDMX-JSON 2.0.0/2.1.0, SDMX-ML 3.0.0/3.1.0) on the metadata sets
of test_metadata_content.py, without a server.

Every answer is checked against the official schemas and read back, by pysdmx (SDMX-JSON; of
SDMX-ML the values pysdmx reads) and by the server's own readers, into what was written; and
what each format says of stubs, languages, versions, XHTML and metadata provision agreements.
The API through a real server is tested in test_metadata_api.py, the SDMX-ML reader in
test_metadata_reader.py, the samples in test_metadata_samples.py.
"""

from __future__ import annotations

import copy
import json

import pytest
from lxml import etree

from sdmx_server.formats import metadata_ml30
from sdmx_server.formats.metadata_sets import prepared
from sdmx_server.formats.structure_ml21_dispatch import NotExpressible
from sdmx_server.kinds import BY_NAME
from sdmx_server.registry import codec
from tests.test_metadata_content import (
    ALL_FORMATS,
    FLOW,
    JSON_VERSIONS,
    NS_XHTML,
    URN,
    XML_LANG,
    XML_WRITERS,
    assert_valid_answer,
    assert_valid_json,
    assert_valid_xml,
    content,
    pysdmx_report,
    pysdmx_shape,
    read_back,
    same_sets,
    stored_sets,
    write,
    xhtml,
)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_written_valid_and_read_back_equal(fmt):
    sets = content().metadata_sets()
    body = write(fmt, sets)
    assert_valid_answer(fmt, body)
    same_sets(read_back(body), stored_sets(), xml=fmt in XML_WRITERS)


@pytest.mark.parametrize("version", JSON_VERSIONS)
def test_pysdmx_reads_the_json(version, tmp_path):
    from pysdmx.io import read_sdmx

    path = tmp_path / "metadata.json"
    path.write_bytes(write(version, content().metadata_sets()))
    # (our own check validates; pysdmx's would need its json extra, rfc3339-validator)
    message = read_sdmx(path, validate=False)
    reports = message.get_reports() if hasattr(message, "get_reports") else message.reports
    assert [pysdmx_report(r) for r in reports] == [pysdmx_shape(o) for o in stored_sets()]


@pytest.mark.parametrize("fmt", XML_WRITERS)
def test_pysdmx_reads_the_xml(fmt, tmp_path):
    """pysdmx reads SDMX-ML 3.0 and 3.1 metadata sets, but of the values only md:Value (not
    texts in languages): identification, targets and the plain values are compared."""
    from pysdmx.io import read_sdmx

    path = tmp_path / "metadata.xml"
    path.write_bytes(write(fmt, content().metadata_sets()))
    # validate=False: pysdmx validates XHTML strictly against a schema it lacks (see assert_valid_xml)
    reports = read_sdmx(path, validate=False).reports
    assert [(r.id, r.agency, r.version, r.name, r.metadataflow, tuple(r.targets)) for r in reports] == [
        (o["id"], o["agencyID"], o["version"], o["name"], o["metadataflow"], tuple(o["targets"])) for o in stored_sets()]
    support = next(r for r in reports if r.id == "MDS_SUPPORT_RATIO")
    values = {a.id: a.value for a in support.attributes if isinstance(a.value, str)}
    assert values == {"UNIT_MEASURE": "RATIO", "PERIODICITY": "Q", "DECIMALS": "2"}


def test_the_xml_says_each_value_as_sdmx_ml_does():
    doc = assert_valid_xml(write("3.0.0", content().metadata_sets()))
    md = f"{{{metadata_ml30.MetadataWriter30.ns_metadata}}}"
    com = f"{{{metadata_ml30.MetadataWriter30.ns_common}}}"
    support = doc.find(".//{*}MetadataSet[@id='MDS_SUPPORT_RATIO']")
    assert support.get("urn") == f"{URN}.metadatastructure.MetadataSet=SSO:MDS_SUPPORT_RATIO(1.0.0)"
    assert [etree.QName(c).localname for c in support] == (
        ["Annotations", "Name", "Name", "Description", "Description", "Metadataflow", "Target"] + ["Attribute"] * 8)
    assert support.findtext(f"{md}Target") == f"{URN}.codelist.Code=SSO:CL_INDICATOR(1.0).SUPPORT_RATIO"
    attributes = support.findall(f"{md}Attribute")
    definition, formula, unit = attributes[:3]
    assert {t.get(XML_LANG): t.text for t in definition.findall(f"{com}Text")} == {
        "en": "Main insured persons per pensioner", "fa": "تعداد بیمه‌شدگان اصلی به ازای هر مستمری‌بگیر"}
    english = next(s for s in formula.findall(f"{com}StructuredText") if s.get(XML_LANG) == "en")
    assert [etree.QName(p).text for p in english] == [f"{{{NS_XHTML}}}p", f"{{{NS_XHTML}}}p"]
    assert english[0][0].text == "support ratio" and english[0][0].tag == f"{{{NS_XHTML}}}i"
    assert unit.findtext(f"{md}Value") == "RATIO"
    notes = [a for a in attributes if a.get("id") == "NOTES"]
    assert len(notes) == 2  # a repeated attribute: one value each
    rules = attributes[-1]
    assert rules.get("id") == "COUNTING_RULES" and [a.get("id") for a in rules] == ["INCLUDED", "EXCLUDED"]
    header = doc.find("{*}Header")
    assert [s.findtext(f"{com}StructureUsage") for s in header.findall("{*}Structure")] == [FLOW]


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_stubs(fmt):
    sets = content().metadata_sets()
    body = write(fmt, sets, detail="stub")
    assert_valid_answer(fmt, body)
    read = read_back(body)
    assert [(o["id"], o["agencyID"], o["version"], o["names"]) for o in read] == [
        (o["id"], o["agencyID"], o["version"], o["names"]) for o in stored_sets()]
    assert all(o.get("isExternalReference") is True and "descriptions" not in o and "annotations" not in o for o in read)
    for got, full in zip(read, stored_sets()):
        if fmt in JSON_VERSIONS:  # SDMX-JSON requires flow, targets and attributes: ids only
            assert got["targets"] == full["targets"] and got["metadataflow"] == full["metadataflow"]
            assert [a for a in got["attributes"]] == [{"id": a["id"]} for a in full["attributes"]]
        else:
            assert "attributes" not in got and "targets" not in got


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_languages(fmt):
    body = write(fmt, content().metadata_sets(), languages=("fa",))
    assert_valid_answer(fmt, body)
    read = {o["id"]: o for o in read_back(body)}
    support = read["MDS_SUPPORT_RATIO"]
    assert support["names"] == {"fa": "تعریف نسبت پشتیبانی"} and support["name"] == "تعریف نسبت پشتیبانی"
    assert support["descriptions"] == {"fa": "تعریف مصوب کارگروه"}
    values = {a["id"]: a.get("value") for a in support["attributes"]}
    assert values["DEFINITION"] == {"fa": "تعداد بیمه‌شدگان اصلی به ازای هر مستمری‌بگیر"}
    assert list(values["FORMULA"]) == ["fa"]
    assert support["annotations"][0]["texts"] == {"fa": "کارگروه آمار"}
    rules = next(a for a in support["attributes"] if a["id"] == "COUNTING_RULES")
    assert [a["value"] for a in rules["attributes"]] == [{"fa": "همه طرح‌ها"}, {"fa": "افراد تحت تکفل"}]
    # a text without the language asked for keeps one (English) rather than none
    assert read["MDS_SECRET"]["names"] == {"en": "About an internal dataflow"}
    partial = {"2.1.0": "isPartialLanguage", "3.1.0": "isPartialLanguage"}.get(fmt)
    if fmt in JSON_VERSIONS:
        flags = {s["id"]: s.get("isPartialLanguage") for s in json.loads(body)["data"]["metadataSets"]}
    else:
        flags = {s.get("id"): s.get("isPartialLanguage") for s in etree.fromstring(body).iter("{*}MetadataSet")}
    assert set(flags.values()) == ({True} if fmt == "2.1.0" else {"true"} if partial else {None})
    everything = write(fmt, content().metadata_sets())  # no language left out, nothing said
    assert b"isPartialLanguage" not in everything


def test_best_language_first_in_json():
    body = write("2.0.0", content().metadata_sets(), languages=("fa", "en"))
    message = assert_valid_json(body, "2.0.0")
    support = next(s for s in message["data"]["metadataSets"] if s["id"] == "MDS_SUPPORT_RATIO")
    assert support["name"] == "تعریف نسبت پشتیبانی" and set(support["names"]) == {"fa", "en"}
    assert message["meta"]["contentLanguages"] == ["en", "fa"]


def test_json_versions_say_1_0_by_leaving_it_out_and_refuse_other_legacy_versions():
    sets = content().metadata_sets()
    message = assert_valid_json(write("2.0.0", sets), "2.0.0")
    versions = {s["id"]: s.get("version") for s in message["data"]["metadataSets"]}
    assert versions["MDS_DF_IND"] is None and versions["MDS_SUPPORT_RATIO"] == "1.0.0"
    legacy = copy.copy(sets[0])
    legacy.version = "2.1"
    with pytest.raises(NotExpressible, match="version 2.1"):
        write("2.1.0", [legacy])
    assert_valid_xml(write("3.0.0", [legacy]))  # SDMX-ML 3.0 has legacy versions


def test_a_set_without_targets_cannot_be_written_valid():
    bare = copy.copy(content().metadata_sets()[0])
    bare.attaches_to = []
    for fmt in ALL_FORMATS:
        with pytest.raises(NotExpressible, match="without a target"):
            write(fmt, [bare])


def test_xhtml_that_is_not_xml_is_written_as_text():
    sets = content().metadata_sets()
    odd = copy.copy(sets[1])
    odd.metadata = [xhtml("FORMULA", en="<p>a &nbsp;&lt; b</p>", fa="<p>unclosed", de="<x:y xmlns:x='urn:x'/>")]
    doc = assert_valid_xml(write("3.0.0", [odd]))
    texts = {s.get(XML_LANG): s for s in doc.iter("{*}StructuredText")}
    assert texts["en"][0].text == "a \u00a0< b"  # HTML's named entities are known
    assert texts["fa"].text == "<p>unclosed" and len(texts["fa"]) == 0
    assert texts["de"].text == "<x:y xmlns:x='urn:x'/>" and len(texts["de"]) == 0


def test_provision_agreement_sets():
    """A set reported for a metadata provision agreement keeps it (SDMX-JSON); SDMX-ML's header
    must name a metadataflow, so alone it cannot be written there."""
    ms = copy.copy(content().metadata_sets()[0])
    ms.described_by = None
    ms.provision_agreement = f"{URN}.registry.MetadataProvisionAgreement=SSO:MPA(1.0)"
    obj = codec.to_json(ms)
    assert obj["metadataProvisionAgreement"] == ms.provision_agreement and "metadataflow" not in obj
    again = codec.to_json(codec.from_json(BY_NAME["metadataset"], obj, None))
    assert again == obj and ms.provision_agreement in codec.references(obj)
    message = assert_valid_json(write("2.0.0", [ms]), "2.0.0")
    assert message["data"]["metadataSets"][0]["metadataProvisionAgreement"] == ms.provision_agreement
    with pytest.raises(NotExpressible, match="without a metadataflow"):
        write("3.0.0", [ms])
    both = write("3.0.0", [ms, content().metadata_sets()[1]])  # the other set's flow is in the header
    assert_valid_xml(both)
    assert read_back(both)[0]["metadataProvisionAgreement"] == ms.provision_agreement


def test_prepared_never_changes_the_stored_object():
    obj = stored_sets()[1]
    before = copy.deepcopy(obj)
    prepared(obj, "stub", ("fa",))
    prepared(obj, "full", ("fa",))
    assert obj == before
