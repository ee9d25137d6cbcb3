"""REST v2 structure queries end to end: versions and their wildcards, lists, any type, item
queries, reference lists, languages, time travel (asOf), and what a format cannot say.

One server on SQLite holds a small registry built for these questions: a codelist in three
versions (legacy, stable semantic, draft), a concept scheme, and an SDMX 3.0 value list.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import httpx
import pytest
from lxml import etree

from sdmx_server.boot import create_schema
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.conftest import fresh_database, running_server
from tests.xsd import assert_valid

M30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0"
NS = {"str": f"{M30}/structure", "com": f"{M30}/common"}
ML30 = {"Accept": "application/vnd.sdmx.structure+xml;version=3.0.0"}


def message30(body: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><mes:Structure xmlns:mes="{M30}/message" '
        f'xmlns:str="{M30}/structure" xmlns:com="{M30}/common"><mes:Header><mes:ID>T</mes:ID>'
        "<mes:Test>false</mes:Test><mes:Prepared>2026-01-01T00:00:00</mes:Prepared><mes:Sender id=\"T\"/>"
        f"</mes:Header><mes:Structures>{body}</mes:Structures></mes:Structure>"
    )


def codelist(version: str, codes: list[str]) -> str:
    items = "".join(
        f'<str:Code id="{c}"><com:Name xml:lang="en">{c} en</com:Name><com:Name xml:lang="fa">{c} فا</com:Name>'
        "</str:Code>" for c in codes
    )
    return (f'<str:Codelists><str:Codelist id="CL_V" agencyID="T" version="{version}">'
            f'<com:Name xml:lang="en">Versions</com:Name><com:Name xml:lang="fa">نسخه‌ها</com:Name>{items}'
            "</str:Codelist></str:Codelists>")


VALUE_LIST = (
    '<str:ValueLists><str:ValueList id="VL_X" agencyID="T" version="1.0.0"><com:Name xml:lang="en">Values</com:Name>'
    '<str:ValueItem id="a"><com:Name xml:lang="en">a</com:Name></str:ValueItem></str:ValueList></str:ValueLists>'
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("structures-v2")
    with fresh_database("sqlite", directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        files = []
        for n, body in enumerate((codelist("1.0", ["A"]), codelist("1.1.0", ["A", "B"]),
                                  codelist("1.2.0-draft", ["A", "B", "C"]), VALUE_LIST)):
            path = directory / f"{n}.xml"
            path.write_text(message30(body), encoding="utf-8")
            files.append(path)
        assert load_structures(db, files[:1], settings).ok
        time.sleep(0.05)
        between = datetime.now(timezone.utc)
        time.sleep(0.05)
        outcome = load_structures(db, files[1:], settings)
        assert outcome.ok, outcome.errors
        db.dispose()
        with running_server(settings) as running:
            running.between = between
            yield running


def get(server, path: str, headers=ML30, **params) -> httpx.Response:
    return httpx.get(f"{server.url}/rest/v2/structure/{path}", params=params, headers=headers, timeout=60)


def versions(response) -> list[str]:
    doc = assert_valid(response.content)
    return [c.get("version") for c in doc.findall(".//str:Codelist", NS)]


@pytest.mark.parametrize(
    "version, expected",
    [
        ("~", ["1.2.0-draft"]),  # the latest, whatever its kind
        ("+", ["1.1.0"]),  # the latest stable
        ("*", ["1.0", "1.1.0", "1.2.0-draft"]),
        ("1.1.0", ["1.1.0"]),
        ("1.0", ["1.0"]),
        ("1.0,1.1.0", ["1.0", "1.1.0"]),
        ("1.0+.0", ["1.1.0"]),
        ("1.*.0", ["1.0", "1.1.0", "1.2.0-draft"]),  # a legacy 1.0, not final, counts as 1.0.0-draft
    ],
)
def test_version_wildcards(server, version, expected):
    r = get(server, f"codelist/T/CL_V/{version}")
    assert r.status_code == 200, r.text
    assert versions(r) == expected


def test_nothing_matching_is_404_and_bad_versions_400(server):
    assert get(server, "codelist/T/CL_V/9.9.9").status_code == 404
    assert get(server, "codelist/T/CL_V/1.+.3").status_code == 400


def test_any_type_and_lists(server):
    r = get(server, "*/T/*/~")
    doc = assert_valid(r.content)
    assert {etree.QName(e).localname for e in doc.find(".//{*}Structures")} == {"Codelists", "ValueLists"}
    assert versions(get(server, "codelist/T,X/CL_V,NOPE/1.0")) == ["1.0"]


def test_item_queries(server):
    doc = assert_valid(get(server, "codelist/T/CL_V/1.2.0-draft/B,C").content)
    (cl,) = doc.findall(".//str:Codelist", NS)
    assert [c.get("id") for c in cl.findall("str:Code", NS)] == ["B", "C"] and cl.get("isPartial") == "true"
    assert get(server, "codelist/T/CL_V/1.2.0-draft/Z").status_code == 404


def test_accept_language_keeps_the_languages_asked_for(server):
    r = get(server, "codelist/T/CL_V/1.1.0", headers={**ML30, "Accept-Language": "fa"})
    doc = assert_valid(r.content)
    langs = {n.get("{http://www.w3.org/XML/1998/namespace}lang") for n in doc.findall(".//com:Name", NS)}
    assert langs == {"fa"}
    everything = assert_valid(get(server, "codelist/T/CL_V/1.1.0").content)
    assert {n.get("{http://www.w3.org/XML/1998/namespace}lang") for n in everything.findall(".//com:Name", NS)} == {"en", "fa"}


def test_as_of_travels_back(server):
    then = server.between.isoformat().replace("+00:00", "Z")
    assert versions(get(server, "codelist/T/CL_V/*", asOf=then)) == ["1.0"]
    assert get(server, "valuelist/T/VL_X/1.0.0", asOf=then).status_code == 404
    assert versions(get(server, "codelist/T/CL_V/*")) == ["1.0", "1.1.0", "1.2.0-draft"]


def test_what_a_format_cannot_say_is_406(server):
    r = get(server, "valuelist/T/VL_X/1.0.0", headers={"Accept": "application/vnd.sdmx.structure+xml;version=2.1"})
    assert r.status_code == 406 and "ValueList" in r.text
    # Asked for every type, the 2.1 answer leaves out the value list and the draft instead.
    r = get(server, "*/T/*/*", headers={"Accept": "application/vnd.sdmx.structure+xml;version=2.1"})
    assert r.status_code == 200
    doc = assert_valid(r.content)
    assert not doc.findall(".//{*}ValueList")
    assert [c.get("version") for c in doc.findall(".//{*}Codelist")] == ["1.0", "1.1.0"]
    # A semantic draft version cannot be written in SDMX-ML 2.1 either.
    assert get(server, "codelist/T/CL_V/1.2.0-draft",
               headers={"Accept": "application/vnd.sdmx.structure+xml;version=2.1"}).status_code == 406


def test_extended_codelists_are_resolved_in_full_and_kept_in_raw(tmp_path, samples_dir):
    """CL_EXTENDED_AGE extends SDMX:CL_AGE without its code Y: `full` answers its own codes and
    the inherited ones, with no CodelistExtension; `raw` answers it as stored."""
    with fresh_database("sqlite", tmp_path) as url:
        settings = Settings(database_url=url, data_dir=tmp_path)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [samples_dir / "v3/xml/codelist - extended.xml"], settings).ok
        db.dispose()
        with running_server(settings) as running:
            full = assert_valid(get(running, "codelist/EXAMPLE/CL_EXTENDED_AGE/1.0").content)
            (cl,) = full.findall(".//str:Codelists/str:Codelist", NS)
            assert [c.get("id") for c in cl.findall("str:Code", NS)] == ["I", "S", "M", "W", "D", "H"]
            assert cl.find("str:CodelistExtension", NS) is None
            raw = assert_valid(get(running, "codelist/EXAMPLE/CL_EXTENDED_AGE/1.0", detail="raw").content)
            (cl,) = raw.findall(".//str:Codelists/str:Codelist", NS)
            assert [c.get("id") for c in cl.findall("str:Code", NS)] == ["I", "S"]
            assert cl.find("str:CodelistExtension/str:ExclusiveCodeSelection/str:MemberValue", NS).text == "Y"
