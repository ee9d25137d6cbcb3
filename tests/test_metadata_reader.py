"""The SDMX-ML 3.0/3.1 metadata reader (registry/generic_metadata.py): GenericMetadata messages
written by hand and by the server, read into the stored form, or refused with their reason.
"""

from __future__ import annotations

import copy

import pytest

from sdmx_server.registry.messages import read_message
from sdmx_server.registry.sdmxml import StructureFileError
from tests.test_metadata_content import (
    FLOW,
    NS_XHTML,
    URN,
    XML_WRITERS,
    assert_valid_xml,
    content,
    read_back,
    same_sets,
    stored_sets,
    write,
    xhtml,
)

GENERIC = """<?xml version="1.0" encoding="UTF-8"?>
<mes:GenericMetadata xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
  xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"
  xmlns:md="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/metadata/generic"
  xmlns:h="http://www.w3.org/1999/xhtml">
 <mes:Header><mes:ID>M1</mes:ID><mes:Test>false</mes:Test><mes:Prepared>2024-01-01T00:00:00Z</mes:Prepared>
  <mes:Sender id="SSO"/><mes:Structure structureID="S"><com:StructureUsage>{flow}</com:StructureUsage></mes:Structure>
 </mes:Header>
 <mes:MetadataSet agencyID="SSO" id="MS_HAND" version="1.2.0" action="Replace" reportingBeginDate="2020-01-01" publicationYear="2024">
  <com:Annotations><com:Annotation id="A"><com:AnnotationType>NOTE</com:AnnotationType>
   <com:AnnotationURL>http://example.org/a</com:AnnotationURL><com:AnnotationText xml:lang="fa">یادداشت</com:AnnotationText>
  </com:Annotation></com:Annotations>
  <com:Name xml:lang="en">By hand</com:Name><com:Name>Default language</com:Name>
  <md:Metadataflow>{flow}</md:Metadataflow>
  <md:Target>{target}</md:Target>
  <md:Attribute id="DEFINITION"><com:Text xml:lang="fa">تعریف</com:Text><com:Text xml:lang="en">Definition</com:Text></md:Attribute>
  <md:Attribute id="FORMULA"><com:StructuredText xml:lang="en">a <h:b>bold</h:b> move</com:StructuredText></md:Attribute>
  <md:Attribute id="NOTES"><md:Value>one</md:Value><md:Value>two</md:Value></md:Attribute>
  <md:Attribute id="COUNTING_RULES"><md:Attribute id="INCLUDED"><md:Value>all</md:Value></md:Attribute></md:Attribute>
 </mes:MetadataSet>
</mes:GenericMetadata>"""


def test_generic_metadata_read_by_hand():
    data = GENERIC.format(flow=FLOW, target=f"{URN}.codelist.Code=SSO:CL_INDICATOR(1.0).SUPPORT_RATIO").encode()
    assert_valid_xml(data)
    [candidate] = read_message(data, "hand.xml")
    assert candidate.kind.name == "metadataset" and candidate.where == "hand.xml line 9"
    assert candidate.obj == {
        "id": "MS_HAND", "version": "1.2.0", "agencyID": "SSO", "name": "Default language",
        "names": {"en": "Default language"},  # xml:lang defaults to English: the second wins
        "annotations": [{"id": "A", "type": "NOTE", "text": "یادداشت", "texts": {"fa": "یادداشت"},
                         "links": [{"href": "http://example.org/a", "rel": "self"}]}],
        "action": "Replace", "publicationYear": "2024", "reportingBegin": "2020-01-01",
        "metadataflow": FLOW, "targets": [f"{URN}.codelist.Code=SSO:CL_INDICATOR(1.0).SUPPORT_RATIO"],
        "attributes": [
            {"id": "DEFINITION", "value": {"en": "Definition", "fa": "تعریف"}},
            {"id": "FORMULA", "format": {"dataType": "XHTML"}, "value": {"en": "a <b>bold</b> move"}},
            {"id": "NOTES", "value": "one"}, {"id": "NOTES", "value": "two"},
            {"id": "COUNTING_RULES", "attributes": [{"id": "INCLUDED", "value": "all"}]}]}


@pytest.mark.parametrize("change, reason", [
    (lambda s: s.replace('<h:b>bold</h:b>', '<b xmlns="urn:other">bold</b>'), "not XHTML"),
    (lambda s: s.replace('<md:Target>', '<md:Targets>').replace('</md:Target>', '</md:Targets>'), "not valid SDMX-ML 3.0"),
    (lambda s: s.replace("v3_0/message", "v2_1/message"), "SDMX-ML 2.1 GenericMetadata is not loaded"),
    (lambda s: s.replace("{target}", "urn:sdmx:org.sdmx.infomodel.base.Agency=SSO:AGENCIES(1.0)"), "cannot be stored"),
])
def test_generic_metadata_refused_with_a_reason(change, reason):
    data = change(GENERIC).format(flow=FLOW, target=f"{URN}.codelist.Code=SSO:CL_INDICATOR(1.0).SUPPORT_RATIO").encode()
    with pytest.raises(StructureFileError, match=reason):
        read_message(data, "hand.xml")


def test_generic_metadata_31_read():
    body = write("3.1.0", content().metadata_sets())
    assert b"/v3_1/" in body
    same_sets(read_back(body), stored_sets(), xml=True)


def test_xhtml_comes_back_as_it_went_out():
    """Whitespace between XHTML elements is content (the structure path drops it; not here)."""
    ms = copy.copy(content().metadata_sets()[1])
    fragments = {"en": "<p>One</p> <p>two &amp; <i>three</i></p>\n<ul><li>x</li></ul>",
                 "fa": f'<div xmlns="{NS_XHTML}"><p>یک</p> <p>دو</p></div>'}
    ms.metadata = [xhtml("FORMULA", **fragments)]
    for fmt in XML_WRITERS:
        [back] = read_back(write(fmt, [ms]))
        assert back["attributes"][0]["value"] == {"en": fragments["en"], "fa": "<div><p>یک</p> <p>دو</p></div>"}
