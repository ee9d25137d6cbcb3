"""Every upload is hostile: structure files and URLs written to hurt the server.

Uploads go through `load_structures` (and the `sdmx-server` command where that is the door):
entity tricks (XXE, billion laughs, quadratic blowup, parameter entities, external DTDs,
XInclude) are refused before anything is read out of them, files over the size limits are
refused before parsing, and anything that is not an SDMX-ML 2.1 structure message is refused
with a message; none of it ever changes the registry. Random mutations of a valid message
(hypothesis) never raise and never change the registry unless the load says it loaded.

URLs go to one running server: hostile keys, parameters and Accept headers never get a 500;
errors are SDMX error messages, valid against the official schema.
"""

from __future__ import annotations

import http.client
import re
import resource
import time
from pathlib import Path
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree
from sqlmodel import Session, select

from sdmx_server.cli import _registry, main
from sdmx_server.formats.ml21 import Header
from sdmx_server.formats.structure_ml21 import structure_message
from sdmx_server.ingest.load import LoadError, load_data
from sdmx_server.registry.index import Registry
from sdmx_server.registry.load import load_structures
from sdmx_server.registry.store import read_all
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from sdmx_server.store.records import LoadRecord
from sdmx_server.boot import create_schema
from tests.conftest import fresh_database, running_server
from tests.datasets import CONTENT, FLOW_A, frame, sdmx_csv
from tests.xsd import assert_valid

NS_MESSAGE = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
SECRET = "TOP-SECRET-7f3a9c"  # in a file the hostile messages try to pull in
PASSWD_LINE = re.compile(r"root:[^:\n]*:0:0:")  # what /etc/passwd would leak


def message(name: str = "Codes", *, prolog: str = "", codes: str = "", declaration: str = "UTF-8") -> bytes:
    """A small, valid SDMX-ML 2.1 structure message: one codelist, two codes."""
    return (
        f'<?xml version="1.0" encoding="{declaration}"?>{prolog}'
        '<mes:Structure xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"'
        ' xmlns:str="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"'
        ' xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"'
        ' xmlns:xi="http://www.w3.org/2001/XInclude">'
        "<mes:Header><mes:ID>H</mes:ID><mes:Test>true</mes:Test><mes:Prepared>2024-01-01T00:00:00</mes:Prepared>"
        '<mes:Sender id="EVIL"/></mes:Header><mes:Structures><str:Codelists>'
        '<str:Codelist agencyID="EVIL" id="CL_X" version="1.0">'
        f'<com:Name xml:lang="en">{name}</com:Name><com:Name xml:lang="fa">کدها</com:Name>'
        f'{codes}<str:Code id="A"><com:Name xml:lang="en">A</com:Name></str:Code>'
        '<str:Code id="B"><com:Name xml:lang="en">B</com:Name><str:Parent><Ref id="A"/></str:Parent></str:Code>'
        "</str:Codelist></str:Codelists></mes:Structures></mes:Structure>"
    ).encode(declaration)


VALID = message()


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path):
    """(db, settings) on a fresh SQLite database that already holds one valid codelist, so that
    'unchanged' means something."""
    with fresh_database("sqlite", tmp_path) as url:
        settings = Settings(database_url=url, data_dir=tmp_path)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [write(tmp_path / "base.xml", message("Base"))], settings).ok
        yield db, settings
        db.dispose()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def database_text(db: Database) -> str:
    """Every row of every table, as text: where a leaked secret would show."""
    tables = sa.MetaData()
    tables.reflect(db.engine)
    with db.engine.connect() as conn:
        return "\n".join(repr(tuple(row)) for table in tables.sorted_tables for row in conn.execute(sa.select(table)))


def refused(db: Database, settings: Settings, path: Path) -> list[str]:
    """Load the file, which must be refused without changing the registry; the errors."""
    before = read_all(db)
    outcome = load_structures(db, [path], settings)
    assert not outcome.ok and outcome.loaded == [], outcome
    assert all(isinstance(e, str) and e.strip() and "Traceback" not in e for e in outcome.errors)
    assert read_all(db) == before
    return outcome.errors


def leaks(text: str) -> bool:
    return SECRET in text or bool(PASSWD_LINE.search(text))


# -- entities, DTDs, XInclude ------------------------------------------------------------------------


def test_xxe_is_refused_and_the_file_never_shows(database_url, tmp_path, secret, capsys, monkeypatch):
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    db = Database(database_url)
    create_schema(db)
    assert load_structures(db, [write(tmp_path / "base.xml", VALID)], settings).ok
    files = [
        write(tmp_path / f"{name}.xml", message("&xxe;", prolog=f'<!DOCTYPE s [<!ENTITY xxe SYSTEM "{uri}">]>'))
        for name, uri in (("xxe", secret.as_uri()), ("passwd", "file:///etc/passwd"))
    ]
    # What a careless parser would have made of the first: the secret in the codelist's name.
    careless = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    assert SECRET in etree.tostring(etree.parse(str(files[0]), careless)).decode()

    for path in files:
        errors = refused(db, settings, path)
        assert errors == [f"{path}: the structure message declares a DTD, which SDMX messages never do; refused"]
    assert not leaks(database_text(db))

    # The command line: refused, and nothing of the file on the terminal.
    monkeypatch.setenv("SDMX_DATABASE_URL", database_url)
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
    capsys.readouterr()
    for path in files:
        assert main(["load-structures", str(path)]) == 1
        out, err = capsys.readouterr()
        assert "declares a DTD" in out and "nothing loaded" in err
        assert not leaks(out + err)
    db.dispose()

    # The server: what it serves is the base codelist, without a trace of the files.
    with running_server(settings) as server, httpx.Client(timeout=60) as client:
        for path in ("codelist", "codelist/all/all/all", "codelist/EVIL/CL_X/1.0", "structure/all/all/all",
                     "codelist/EVIL/CL_X/1.0/A?references=all"):
            response = client.get(server.rest(path))
            assert response.status_code == 200, (path, response.text)
            assert_valid(response.content)
            assert not leaks(response.text), path
            assert "Codes" in response.text  # the base codelist's name, not &xxe;


BILLION_LAUGHS = "".join(
    f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10)) if i else "lol"}">' for i in range(10)
)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "prolog, name",
    [
        pytest.param(f"<!DOCTYPE lolz [{BILLION_LAUGHS}]>", "&lol9;", id="billion-laughs"),
        pytest.param(f'<!DOCTYPE q [<!ENTITY a "{"x" * 100_000}">]>', "&a;" * 100_000, id="quadratic-blowup"),
    ],
)
def test_entity_expansion_is_refused_quickly_and_in_little_memory(store, tmp_path, prolog, name):
    """Fully expanded, the first is 3 GB of 'lol' and the second 10 GB of 'x' (from a 400 KB
    file). Refused in well under the timeout, and the process never grows by more than a little
    over its earlier peak."""
    db, settings = store
    path = write(tmp_path / "bomb.xml", message(name, prolog=prolog))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    started = time.perf_counter()
    errors = refused(db, settings, path)
    assert time.perf_counter() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200 * 1024
    assert len(errors) == 1 and errors[0].startswith(f"{path}: the structure message ")
    assert "DTD" in errors[0] or "entity amplification" in errors[0]


@pytest.mark.parametrize(
    "prolog, name, codes, reason",
    [
        pytest.param('<!DOCTYPE mes:Structure SYSTEM "{secret}">', "Codes", "", "declares a DTD", id="external-dtd-file"),
        pytest.param('<!DOCTYPE mes:Structure SYSTEM "http://127.0.0.1:9/evil.dtd">', "Codes", "", "declares a DTD",
                     id="external-dtd-http"),
        pytest.param('<!DOCTYPE mes:Structure PUBLIC "-//EVIL//DTD//EN" "{secret}">', "Codes", "", "declares a DTD",
                     id="public-dtd"),
        pytest.param('<!DOCTYPE x [<!ENTITY % p SYSTEM "{secret}"> %p;]>', "Codes", "", "declares a DTD",
                     id="parameter-entity"),
        pytest.param('<!DOCTYPE x [<!ENTITY % p "<!ENTITY e \'{secret}\'>"> %p;]>', "&e;", "", "declares a DTD",
                     id="parameter-entity-defining-an-entity"),
        pytest.param('<!DOCTYPE x [<!ENTITY harmless "Codes">]>', "&harmless;", "", "declares a DTD",
                     id="even-a-harmless-internal-entity"),
        pytest.param("", '<xi:include href="{secret}" parse="text"/>', "", "uses XInclude", id="xinclude-in-a-name"),
        pytest.param("", "Codes", '<xi:include href="{secret}" parse="xml"/>', "uses XInclude", id="xinclude-among-codes"),
        pytest.param("", "Codes", '<xi:include href="{secret}"><xi:fallback>x</xi:fallback></xi:include>',
                     "uses XInclude", id="xinclude-with-fallback"),
    ],
)
def test_dtds_and_xinclude_are_refused(store, tmp_path, secret, prolog, name, codes, reason):
    db, settings = store
    uri = secret.as_uri()
    path = write(tmp_path / "evil.xml", message(name.format(secret=uri), prolog=prolog.format(secret=uri),
                                                codes=codes.format(secret=uri)))
    errors = refused(db, settings, path)
    assert errors == [f"{path}: the structure message {reason}, which SDMX messages never do; refused"]
    assert not leaks(database_text(db))


# -- size limits -------------------------------------------------------------------------------------


def test_structure_file_over_the_limit_is_refused_before_parsing(store, tmp_path, capsys, monkeypatch):
    db, base = store
    limit = len(VALID)
    settings = Settings(database_url=base.database_url, data_dir=tmp_path, max_structure_bytes=limit)
    assert load_structures(db, [write(tmp_path / "exact.xml", VALID)], settings).ok  # at the limit: read

    # One byte more, and not even XML: the size is all that is looked at.
    path = write(tmp_path / "big.xml", b"\x00" * (limit + 1))
    errors = refused(db, settings, path)
    assert errors == [f"{path}: {limit + 1:,} bytes is more than the limit of {limit:,}"]

    monkeypatch.setenv("SDMX_DATABASE_URL", base.database_url)
    monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SDMX_MAX_STRUCTURE_BYTES", str(limit))
    capsys.readouterr()
    assert main(["load-structures", str(path)]) == 1
    out, _ = capsys.readouterr()
    assert f"more than the limit of {limit:,}" in out


def test_data_file_over_the_limit_is_refused_before_parsing(tmp_path, capsys, monkeypatch):
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        create_schema(db)
        settings = Settings(database_url=url, data_dir=tmp_path, max_load_bytes=1000)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        good = write(tmp_path / "good.csv", sdmx_csv(frame(months=2, quarters=0)).encode())
        assert good.stat().st_size > 1000

        with pytest.raises(LoadError, match=rf"{good.stat().st_size:,} bytes is more than the limit of 1,000$"):
            load_data(db, _registry(db), FLOW_A, good, "merge", settings)
        garbage = write(tmp_path / "garbage.csv", b"\xff\x00" * 600)
        with pytest.raises(LoadError, match="more than the limit of 1,000"):
            load_data(db, _registry(db), FLOW_A, garbage, "merge", settings)
        with Session(db.engine) as session:  # refused before a load record is even opened
            assert session.exec(select(LoadRecord)).all() == []

        monkeypatch.setenv("SDMX_DATABASE_URL", url)
        monkeypatch.setenv("SDMX_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("SDMX_MAX_LOAD_BYTES", "1000")
        capsys.readouterr()
        assert main(["load-data", "TEST:DF_A(1.0)", str(garbage)]) == 1
        _, err = capsys.readouterr()
        assert "more than the limit of 1,000" in err and "Traceback" not in err
        db.dispose()


# -- not a structure message -------------------------------------------------------------------------

SDMX_30 = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<m:Structure xmlns:m="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"'
    b' xmlns:s="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure"'
    b' xmlns:c="http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"><m:Header><m:ID>H</m:ID>'
    b"<m:Test>true</m:Test><m:Prepared>2024-01-01T00:00:00</m:Prepared><m:Sender id=\"X\"/></m:Header>"
    b'<m:Structures><s:Codelists><s:Codelist agencyID="EVIL" id="CL_X" version="1.0">'
    b'<c:Name xml:lang="en">X</c:Name><s:Code id="A"><c:Name xml:lang="en">A</c:Name></s:Code>'
    b"</s:Codelist></s:Codelists></m:Structures></m:Structure>"
)
DATA_21 = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<mes:GenericData xmlns:mes="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"'
    b' xmlns:gen="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"'
    b' xmlns:com="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"><mes:Header><mes:ID>H</mes:ID>'
    b"<mes:Test>true</mes:Test><mes:Prepared>2024-01-01T00:00:00</mes:Prepared><mes:Sender id=\"X\"/>"
    b'<mes:Structure structureID="S" dimensionAtObservation="TIME_PERIOD"><com:Structure>'
    b'<Ref agencyID="TEST" id="DSD_TEST" version="1.0"/></com:Structure></mes:Structure></mes:Header>'
    b'<mes:DataSet structureRef="S"><gen:Series><gen:SeriesKey><gen:Value id="FREQ" value="M"/></gen:SeriesKey>'
    b'<gen:Obs><gen:ObsDimension value="2020-01"/><gen:ObsValue value="1"/></gen:Obs></gen:Series>'
    b"</mes:DataSet></mes:GenericData>"
)


@pytest.mark.parametrize(
    "data, expected",
    [
        pytest.param(b"FREQ,AREA\nM,IR\n", r"is not well-formed XML: Start tag expected", id="csv-not-xml"),
        pytest.param(VALID[: len(VALID) // 2], r"is not well-formed XML", id="truncated"),
        pytest.param(VALID[:-1], r"is not well-formed XML", id="truncated-by-one-byte"),
        pytest.param(DATA_21, r"expected an SDMX-ML 2\.1, 3\.0 or 3\.1 structure message \(message:Structure\), found GenericData$",
                     id="data-message"),
        pytest.param(b'<?xml version="1.0"?><html><body><p>hello</p></body></html>',
                     r"expected an SDMX-ML 2\.1, 3\.0 or 3\.1 structure message \(message:Structure\), found html$", id="generic-xml"),
        pytest.param(b"", r"is not well-formed XML: Document is empty", id="empty"),
        pytest.param(bytes(range(256)) * 64, r"is not well-formed XML", id="binary-garbage"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, r"is not well-formed XML", id="a-png"),
        pytest.param(VALID.replace(b"<com:Name xml:lang=\"en\">Codes", b"<com:Name xml:lang=\"en\">Co\x00des"),
                     r"is not well-formed XML: .*0x0", id="nul-byte"),
        pytest.param(VALID.replace(b"Codes", b"Co\xc3\x28des"), r"is not well-formed XML", id="invalid-utf-8"),
        pytest.param("FREQ,AREA\nM,ایران\n".encode("utf-16"), r"is not well-formed XML", id="utf-16-text"),
        pytest.param(VALID.replace(b"<mes:Structures>", b"<mes:Structures><str:Codelists><str:Codelist/></str:Codelists>"),
                     r"not valid SDMX-ML 2\.1: line 1: Element 'str:Codelist': The attribute 'id' is required",
                     id="codelist-without-id"),
        pytest.param(VALID.replace(b"<str:Codelists>", b"<str:Codelists><str:Nonsense agencyID='E' id='N'/>"),
                     r"not valid SDMX-ML 2\.1: line 1: Element 'str:Nonsense': This element is not expected",
                     id="unknown-element"),
        pytest.param(VALID.replace(b"<str:Codelists>", b"").replace(b"</str:Codelists>", b""),
                     r"not valid SDMX-ML 2\.1: line 1: Element 'str:Codelist': This element is not expected",
                     id="no-container"),
        pytest.param(VALID.replace(b'<str:Code id="B">', b'<str:Code id="A">'),
                     r"not valid SDMX-ML 2\.1: .*Duplicate key-sequence \['A'\] .*Codelist_UniqueCode",
                     id="two-codes-with-one-id"),
        pytest.param(VALID.replace(b"</str:Codelists>", b'<str:Codelist agencyID="EVIL" id="CL_X" version="1.0">'
                                                        b'<com:Name xml:lang="en">Twin</com:Name></str:Codelist></str:Codelists>'),
                     r"not valid SDMX-ML 2\.1: .*Duplicate key-sequence \['CL_X', 'EVIL', '1\.0'\]",
                     id="one-codelist-twice"),
        # What the schema refuses would otherwise be served, and make every answer that lists it invalid.
        pytest.param(VALID.replace(b'id="CL_X"', b'id="CL X"'), r"'CL X' is not accepted by the pattern", id="id-with-a-space"),
        pytest.param(VALID.replace(b'agencyID="EVIL"', b'agencyID="1EVIL"'), r"'1EVIL' is not accepted by the pattern",
                     id="agency-starting-with-a-digit"),
        pytest.param(VALID.replace(b'<str:Code id="B">', b'<str:Code id="B&lt;script&gt;">'),
                     r"'B<script>' is not accepted by the pattern", id="markup-in-a-code-id"),
        pytest.param(VALID.replace(b'xml:lang="fa"', b'xml:lang="not a language"'),
                     r"'not a language' is not a valid value of the atomic type 'xs:language'", id="not-a-language"),
        pytest.param(VALID.replace(b'version="1.0">', b'version="latest">'), r"'latest' is not accepted by the pattern",
                     id="version-latest"),
        pytest.param(VALID.replace(b'<Ref id="A"/>', b'<Ref id="Q"/>'), r"cannot be read: .*'Q'", id="parent-not-there"),
    ],
)
def test_what_is_not_a_sound_structure_message_is_refused(store, tmp_path, data, expected):
    db, settings = store
    errors = refused(db, settings, write(tmp_path / "upload.xml", data))
    assert len(errors) == 1 and re.search(expected, errors[0]), errors


def test_sdmx_ml_30_is_read_too_whatever_its_prefixes(store, tmp_path):
    db, settings = store
    outcome = load_structures(db, [write(tmp_path / "v30.xml", SDMX_30)], settings)
    assert outcome.ok and outcome.loaded == ["codelist EVIL:CL_X(1.0)"], outcome
    (stored,) = [s for s in read_all(db)[0] if s.id == "CL_X"]
    assert b'"names":{"en":"X"}' in stored.body


def test_utf16_is_xml_too(store, tmp_path):
    """XML processors must read UTF-16 (XML 1.0, 4.3.3): the same message in UTF-16 is the same
    message. (Not hostile; checked so that refusing it is never mistaken for safety.)"""
    db, settings = store
    utf8 = load_structures(db, [write(tmp_path / "utf8.xml", message("Other"))], settings)
    assert utf8.ok, utf8.errors
    stored = read_all(db)[0]
    utf16 = message("Other", declaration="UTF-16")
    assert utf16.startswith(b"\xff\xfe")
    outcome = load_structures(db, [write(tmp_path / "utf16.xml", utf16)], settings)
    assert outcome.ok and outcome.unchanged == utf8.loaded
    assert read_all(db)[0] == stored


# -- random mutations ----------------------------------------------------------------------------------

MARKUP = [
    b"<", b">", b"&", b"&xxe;", b"&#0;", b"&#x10FFFF;", b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"<![CDATA[", b"]]>",
    b"<?pi x?>", b"<!--", b"-->", b'"', b"'", b"\x00", b"\xff\xfe", b"</str:Codelist>", b'<str:Code id="Z">',
    b'<xi:include href="file:///etc/passwd" parse="text"/>', b' isFinal="true"', b' agencyID=""', b' id="A"',
    b' version="latest"', b"<str:Parent><Ref id='B'/></str:Parent>", b"\xc3\x28", b"\xe2\x80\xae", b"\r\n",
]


#: Attribute values and element texts: replaced, they keep the message well-formed and reach
#: the reader, the reference checks and the registry rather than the XML parser alone.
VALUES = re.compile(rb'="([^"]*)"|>([^<]+)<')
TEXTS = st.one_of(
    st.sampled_from(["", " ", "A", "B", "Z", "EVIL", "CL_X", "SDMX", "1.0", "2.0", "1.0.0-draft", "latest", "all",
                     "true", "false", "x:y", "A.B", "A B", "-1", "99999999999999999999", "2024-13-45T99:00:00",
                     "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/structure"]),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
)


@st.composite
def mutated(draw) -> bytes:
    """Half the examples change values only (well-formed), half also flip, cut and insert bytes."""
    data = bytearray(VALID)
    gentle = draw(st.booleans())
    for _ in range(draw(st.integers(1, 4))):
        kind = "value" if gentle else draw(st.sampled_from(["value", "flip", "truncate", "insert", "delete"]))
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "value":
            body = data.find(b"</mes:Header>")  # values of the structures, not the declarations
            spans = [m.span(1) if m.group(1) is not None else m.span(2) for m in VALUES.finditer(data, max(body, 0))]
            if spans:
                start, end = draw(st.sampled_from(spans))
                data[start:end] = escape(draw(TEXTS), {'"': "&quot;"}).encode()
        elif kind == "flip" and data:
            data[where] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del data[where:]
        elif kind == "insert":
            data[where:where] = draw(st.sampled_from(MARKUP) | st.binary(min_size=1, max_size=8))
        else:
            del data[where:where + draw(st.integers(1, 40))]
    return bytes(data)


MUTATIONS = hypothesis_settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.timeout(120)
def test_mutated_messages_never_raise_and_never_change_the_registry_unless_loaded(tmp_path):
    with fresh_database("sqlite", tmp_path) as url:
        db = Database(url)
        create_schema(db)
        settings = Settings(database_url=url, data_dir=tmp_path)
        path = tmp_path / "mutant.xml"

        @MUTATIONS
        @given(data=mutated())
        def check(data: bytes) -> None:
            before = read_all(db)
            outcome = load_structures(db, [write(path, data)], settings)
            after = read_all(db)
            if outcome.ok:
                assert (outcome.loaded or outcome.unchanged) and not outcome.errors
                assert set(outcome.loaded) <= {f"{s.kind} {s.agency}:{s.id}({s.version})" for s in after[0]}
                registry = Registry.build(*after)  # what was accepted reads back: the server starts
                served = [(a, "full") for kind, a in registry.all()]
                assert_valid(structure_message(served, Header()))  # and is served as valid SDMX-ML
            else:
                assert outcome.errors and outcome.loaded == []
                assert all(isinstance(e, str) and e.strip() for e in outcome.errors)
                assert after == before

        check()
        db.dispose()


# -- hostile URLs, against one running server --------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server on SQLite holding the test structures and the data of DF_A."""
    directory = tmp_path_factory.mktemp("hostile-server")
    with fresh_database("sqlite", directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        assert load_structures(db, [CONTENT / "codelists", CONTENT / "dsd"], settings).ok
        data = write(directory / "a.csv", sdmx_csv(frame(seed=1)).encode())
        assert load_data(db, _registry(db), FLOW_A, data, "merge", settings).applied
        db.dispose()
        with running_server(settings) as running:
            yield running


def raw_get(server, target: str, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """GET exactly this request target: no client normalises `..` or re-encodes anything."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        connection.close()


def assert_sdmx_error(status: int, content_type: str, body: bytes) -> None:
    assert status in (400, 401, 403, 404, 406, 413, 414, 501), (status, body[:300])
    assert content_type.startswith("application/xml"), content_type
    root = assert_valid(body)
    assert etree.QName(root).localname == "Error" and etree.QName(root).namespace.startswith(NS_MESSAGE[:-len("v2_1/message")])


#: (Request lines over about 64 KB never reach the application: uvicorn itself answers them with
#: a plain-text 400. Everything here stays under that.)
TEN_THOUSAND_DIMENSIONS = ".".join(["M"] * 10_000)

HOSTILE_TARGETS = [
    f"/rest/data/DF_A/{TEN_THOUSAND_DIMENSIONS}",
    "/rest/data/DF_A/" + "." * 9_999,
    "/rest/data/DF_A/M." + "+".join(f"C{i}" for i in range(5_000)) + ".F",  # 5,000 codes in one dimension
    "/rest/data/DF_A/M.IR%00.F",
    "/rest/data/DF_A%00/M.IR.F",
    "/rest/data/DF_A/M.IR'.F",
    "/rest/data/DF_A/M.IR'%20OR%20'1'='1.F",
    "/rest/data/DF_A/M.IR;DROP%20TABLE%20sdmx_artefact;.F",
    "/rest/data/DF_A/M.IR--.F",
    "/rest/data/DF_A/M.%3Cscript%3Ealert(1)%3C%2Fscript%3E.F",
    "/rest/data/DF_A/M.%D8%A7%DB%8C%D8%B1%D8%A7%D9%86.F",
    "/rest/data/DF_A/M.%F0%9F%92%A5.F",
    "/rest/data/DF_A/M.%FF%FE.F",  # not UTF-8 at all
    "/rest/data/DF_A/M.IR%0A.F",
    "/rest/data/DF_A/M.IR%0D%0ASet-Cookie:%20x=1.F",
    "/rest/data/../../../etc/passwd",
    "/rest/data/DF_A/../../../../etc/passwd",
    "/rest/data/DF_A/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/rest/codelist/../../etc/passwd",
    "/rest/codelist/TEST/../../../etc/passwd",
    "/rest/schema/dataflow/../../../etc/passwd",
    "/rest/codelist/TEST/CL_AREA/1.0/IR%00",
    "/rest/codelist/TEST'--/CL_AREA",
    "/rest/codelist/" + "+".join(f"A{i}" for i in range(3_000)),
    "/rest/codelist/TEST/CL_AREA/99999999999999999999999999.0",
    "/rest/data/DF_A/M.IR.F?lastNObservations=-1",
    "/rest/data/DF_A/M.IR.F?lastNObservations=0",
    "/rest/data/DF_A/M.IR.F?lastNObservations=%C2%B2",  # '²': a digit to str.isdigit, not to int()
    "/rest/data/DF_A/M.IR.F?lastNObservations=%D9%A3",  # an Arabic-Indic three
    "/rest/data/DF_A/M.IR.F?lastNObservations=1e3",
    "/rest/data/DF_A/M.IR.F?lastNObservations=%201",
    "/rest/data/DF_A/M.IR.F?firstNObservations=-99999999999999999999999",
    "/rest/data/DF_A/M.IR.F?lastNObservations=1&lastNObservations=-1",  # repeated: the last counts
    "/rest/data/DF_A/M.IR.F?detail=full&detail=%00",
    "/rest/data/DF_A/M.IR.F?startPeriod=99999999999",
    "/rest/data/DF_A/M.IR.F?startPeriod=-2020",
    "/rest/data/DF_A/M.IR.F?startPeriod=0000-01&endPeriod=9999-12",
    "/rest/data/DF_A/M.IR.F?startPeriod=2020-W99",
    "/rest/data/DF_A/M.IR.F?startPeriod=2020-01-01T25:61:61",
    "/rest/data/DF_A/M.IR.F?reportingYearStartDay=--13-45&startPeriod=2020-Q1",
    "/rest/data/DF_A/M.IR.F?dimensionAtObservation=%00",
    "/rest/data/DF_A/M.IR.F?dimensionAtObservation=" + "A" * 5_000,
    "/rest/data/DF_A/M.IR.F?format=%3Cscript%3E",
    "/rest/data/DF_A/M.IR.F?updatedAfter=2020-01-01T99:99:99",
    "/rest/data/" + "," * 5_000,
    "/rest/data/DF_A/M.IR.F/" + "+".join(["P"] * 1_000),
    "/rest/data/DF_A/M.IR.F/all/and/more",
    "/rest/codelist?references=%00",
    "/rest/codelist?detail=" + "x" * 10_000,
    "/rest/%00",
    "/rest/" + "a" * 10_000,
    "/rest/v2/data/dataflow/%00",
    "/rest/%2e%2e/%2e%2e/etc/passwd",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS, ids=lambda t: t[:60])
def test_hostile_urls_get_sdmx_errors(server, target):
    status, content_type, body = raw_get(server, target)
    assert_sdmx_error(status, content_type, body)
    assert not leaks(body.decode("utf-8", "replace"))


@pytest.mark.parametrize("target", ["/%2e%2e/%2e%2e/etc/passwd", "/en/%2e%2e/%00", "/" + "a" * 5_000])
def test_hostile_urls_outside_the_api_get_the_portals_error_page(server, target):
    """Paths outside the machine interfaces are the portal's: a 4xx HTML page, never a file."""
    status, content_type, body = raw_get(server, target)
    assert 400 <= status < 500 and content_type.startswith("text/html"), (status, content_type)
    from lxml import html as lxml_html

    assert lxml_html.fromstring(body).xpath("//section[@class='error-page']//h1") and b"root:" not in body
    assert not leaks(body.decode("utf-8", "replace"))


@pytest.mark.parametrize("number", ["2147483648", "9223372036854775808", "9" * 100])
def test_huge_observation_counts_mean_all_observations(server, number):
    csv = {"Accept": "application/vnd.sdmx.data+csv;version=1.0.0"}
    everything = raw_get(server, "/rest/data/DF_A/M.IR.F", csv)
    for name in ("lastNObservations", "firstNObservations"):
        status, _, body = raw_get(server, f"/rest/data/DF_A/M.IR.F?{name}={number}", csv)
        assert status == 200 and body == everything[2], name


@pytest.mark.parametrize(
    "accept",
    [
        "a" * 10_240,
        "application/vnd.sdmx.genericdata+xml;" + "x=y;" * 2_500 + "q=NaN",
        ",".join(["text/html;q=0.1"] * 700),
        "application/vnd.sdmx.data+csv;q=NaN",
        "application/vnd.sdmx.data+csv;version=1.0.0;q=nan, application/xml;q=NaN",
        "*/*;q=-1",
        "*/*;q=inf",
        "*/*;q=1e999",
        "*/*;q=2",
        "text/csv;q=",
        ";;;=;q=",
        "=/=",
        "*/*;q=0",
        "application/vnd.sdmx.data+csv;version=9.9.9",
        "application/vnd.sdmx.data+json;version=9.9.9",  # SDMX-JSON data is offered, not this version
    ],
    ids=lambda a: a[:40],
)
def test_absurd_accept_headers_are_not_acceptable(server, accept):
    for target in ("/rest/data/DF_A/M.IR.F", "/rest/codelist/TEST/CL_AREA", "/rest/schema/dataflow/TEST/DF_A/1.0"):
        status, content_type, body = raw_get(server, target, {"Accept": accept})
        assert status == 406, (target, status, body[:300])
        assert_sdmx_error(status, content_type, body)


@pytest.mark.parametrize("accept", ["text/csv;;;=;", "*/*;q=1;q=0.5;version=;version", "*/*, " + "x" * 10_000])
def test_odd_but_acceptable_accept_headers_are_answered(server, accept):
    status, content_type, body = raw_get(server, "/rest/data/DF_A/M.IR.F", {"Accept": accept})
    assert status == 200 and body, (status, body[:300])


# Hypothesis: keys, parameters and headers from every corner of Unicode.

RANDOM = hypothesis_settings(
    max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CODE_PARTS = st.sampled_from(["M", "Q", "IR", "IR-23", "F", "_T", "", "+", ".", "*", "all", "..", "%", "'", ";", "--"])
KEYS = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(CODE_PARTS, st.text(max_size=4)), max_size=12).map("".join),
    st.lists(st.sampled_from(["M", "IR", "F", ""]), min_size=1, max_size=30).map(".".join),
)
PARAMETERS = st.dictionaries(
    st.sampled_from([
        "startPeriod", "endPeriod", "lastNObservations", "firstNObservations", "detail", "dimensionAtObservation",
        "format", "updatedAfter", "includeHistory", "reportingYearStartDay", "references", "STARTPERIOD",
    ]) | st.text(max_size=8),
    st.one_of(
        st.text(max_size=20),
        st.integers(-(10**30), 10**30).map(str),
        st.sampled_from(["2020", "2020-Q1", "2020-01", "2020-W53", "2020-S2", "full", "nodata", "AllDimensions",
                         "TIME_PERIOD", "csv", "true", "NaN", "1e9", "--01-01", "+1", "0x10"]),
    ),
    max_size=4,
)
ACCEPTS = st.one_of(
    st.none(),
    st.sampled_from(["application/vnd.sdmx.data+csv;version=1.0.0", "application/xml", "*/*", "text/csv"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(str.strip),  # as HTTP allows
)


def check_answer(response: httpx.Response) -> None:
    """An answer, or an SDMX error message; never a 500."""
    content_type = response.headers.get("content-type", "")
    if response.status_code != 200:
        assert_sdmx_error(response.status_code, content_type, response.content)
    elif "structurespecific" in content_type:
        etree.fromstring(response.content)  # valid only with the DSD's own schema: whole, at least
    elif "xml" in content_type:
        assert_valid(response.content)
    else:
        assert response.content


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=60) as c:
        yield c


@RANDOM
@given(key=KEYS, params=PARAMETERS, accept=ACCEPTS)
def test_random_data_queries_never_fail(server, client, key, params, accept):
    headers = {"Accept": accept} if accept is not None else {}
    url = f"{server.url}/rest/data/DF_A/{quote(key, safe='')}"
    if params:
        url += "?" + urlencode(params)
    check_answer(client.get(url, headers=headers))


@RANDOM
@given(
    resource=st.sampled_from(["codelist", "conceptscheme", "datastructure", "dataflow", "structure", "schema",
                              "hierarchicalcodelist", "data", "nothing"]),
    segments=st.lists(st.one_of(st.text(max_size=12), st.sampled_from(["TEST", "CL_AREA", "DF_A", "1.0", "all",
                                                                          "latest", "IR+IR-23", "~", "*"])),
                      max_size=6),
    params=PARAMETERS,
)
def test_random_structure_queries_never_fail(server, client, resource, segments, params):
    url = f"{server.url}/rest/{resource}/" + "/".join(quote(s, safe="+") for s in segments)
    if params:
        url += "?" + urlencode(params)
    check_answer(client.get(url))
