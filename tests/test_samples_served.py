"""Every artefact of every loadable sample, fetched from a real server and read back equal.

Each sample that loads (tests/samples_expected.py; with external-reference stubs where it lacks
what it refers to) is loaded into a fresh database, SQLite for all and PostgreSQL for a few,
and a real server (uvicorn) is started on it. Every artefact the file defines is fetched by its
own URL through REST v1 (SDMX-ML 2.1) and through REST v2 in every structure format the media
table offers at run time (`media.rows("structure", "v2")`: formats added later are covered
without a change here). Every answer:

- is valid against the official schema (tests/xsd.py, tests/jsonschemas.py);
- holds exactly the artefact asked for;
- says in its XML what the sample's XML says (names and descriptions in every language, items
  in order with their parents, attribute usage), read without any SDMX library;
- reads back (sdmx1 for SDMX-ML, the codec for SDMX-JSON) into an artefact equal to the
  original (`comparable` in tests/samples_compare.py: what a format cannot say, and what sdmx1
  does not read, are taken out on both sides, each with its reason);
- is read by pysdmx, for the kinds pysdmx models, into the same codes and components.

What a format cannot express is a 406 in that format: kinds the format lacks (the kinds table)
and the features of NOT_EXPRESSIBLE. What sdmx1 or pysdmx cannot read of a valid answer is in
CLIENT_LIMITS: the test checks that each listed failure still happens, so that a fixed library
shows. A DSD is also fetched with references=children and descendants: exactly its children
(resp. their closure) come back. Finally every answer in SDMX-ML 2.1 and 3.0, loaded into
another registry, is stored as the first one stores it: the server reads its own answers back.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import httpx
import pytest

from sdmx_server.boot import create_schema
from sdmx_server.formats import media
from sdmx_server.kinds import BY_NAME, Kind
from sdmx_server.registry.extensions import resolved
from sdmx_server.registry.load import load_structures
from sdmx_server.settings import Settings
from sdmx_server.store.database import Database
from tests.conftest import fresh_database, running_server
from tests.model_compare import differences
from tests.samples_compare import (
    Key, comparable, expected_pysdmx, key_of_urn, load_into_fresh, normalise_stored, originals, parse_ref,
    pysdmx_digest, read_answer, stored_forms, write_answer, xml_digest,
)
from tests.samples_expected import (
    CLIENT_LIMITS, KNOWN_LOSSES, NOT_EXPRESSIBLE, ON_POSTGRES, RELOAD_LIMITS, STRUCTURES, fmt_of, loaded_files,
)
from tests.test_codec_samples import expected_references
from tests.xsd import assert_valid

V2_ROWS = media.rows("structure", "v2")
#: The formats pysdmx (1.21) reads structures of, and the kinds it reads into objects of its own.
PYSDMX_FORMATS = ("2.1", "3.0", "3.1", "json2.0", "json2.1")
PYSDMX_KINDS = {"codelist": "get_codelist", "conceptscheme": "get_concept_scheme",
                "datastructure": "get_data_structure_definition", "dataflow": "get_dataflow"}


def expressible(kind: Kind, fmt: str) -> bool:
    column = {"2.1": kind.ml21, "3.0": kind.ml30, "3.1": kind.ml30, "json1.0": kind.json10}.get(fmt, kind.json20)
    return column is not None


def sample_params():
    params = []
    for name in loaded_files():
        params.append(pytest.param((name, "sqlite"), id=f"{name}-sqlite"))
        if name in ON_POSTGRES:
            params.append(pytest.param((name, "postgresql"), id=f"{name}-postgresql", marks=pytest.mark.postgres))
    return params


@dataclass
class Served:
    name: str
    url: str  # the database's
    server: object
    client: httpx.Client
    originals: dict[Key, object]
    defined: list[Key]  # what the file defines, as loaded
    held: set[Key]  # what the registry holds: defined and stubs
    xml: dict[Key, dict] = field(default_factory=dict)  # the sample's XML digest (SDMX-ML only)
    limits_hit: set[tuple] = field(default_factory=set)


@pytest.fixture(scope="module", params=sample_params())
def served(request, samples_dir, tmp_path_factory):
    """The sample loaded into a fresh database, and a real server on it. (Named like conftest's
    `served`, which it replaces in this module.)"""
    name, backend = request.param
    path = samples_dir / name
    directory = tmp_path_factory.mktemp("sample")
    with fresh_database(backend, directory) as url:
        settings = Settings(database_url=url, data_dir=directory)
        db = Database(url)
        create_schema(db)
        outcome = load_structures(db, [path], settings,
                                  allow_missing_references=STRUCTURES[name].outcome == "loaded with stubs")
        db.dispose()
        assert outcome.ok, outcome.errors
        defined = [parse_ref(r) for r in outcome.loaded if not r.startswith("metadataset ")]
        held = set(defined) | {parse_ref(r) for r in outcome.stubs}
        found = originals(path)
        for artefact in found.values():
            for extension in getattr(artefact, "extends", None) or ():
                if isinstance(extension.extends, str):  # sdmx1 leaves the extended codelist a URN
                    extension.extends = found.get(key_of_urn(extension.extends), extension.extends)
        xml = xml_digest(path.read_bytes()) if path.suffix == ".xml" else {}
        with running_server(settings) as server, httpx.Client(timeout=120) as client:
            yield Served(name, url, server, client, found, defined, held, xml)


def get(served: Served, path: str, accept: str | None = None, **params) -> httpx.Response:
    return served.client.get(served.server.rest(path), params=params,
                             headers={"Accept": accept} if accept else {})


# -- one answer ---------------------------------------------------------------------------------


def _words(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def check_answer(served: Served, key: Key, response: httpx.Response, fmt: str, family: str, problems: list,
                 raw: bool = False) -> None:
    """One answer (detail=full, or raw) against the original: status, schema, what it holds, its
    XML against the sample's, and what sdmx1 (or the codec) and pysdmx read of it."""
    where = f"{key} in {fmt}" + (" (raw)" if raw else "")
    kind = BY_NAME[key[0]]
    refusal = NOT_EXPRESSIBLE.get((served.name, key[2], fmt))
    if raw and fmt in ("2.1", "json1.0"):
        refusal = "codelist extension"  # as stored: SDMX 2.1 has no extensions
    if not expressible(kind, fmt) or refusal is not None:
        if response.status_code != 406:
            problems.append(f"{where}: {response.status_code}, expected 406 ({refusal or 'no such kind'})")
        elif refusal and _words(refusal) not in _words(response.text):
            problems.append(f"{where}: the 406 does not name {refusal!r}: {response.text[:300]}")
        return
    if response.status_code != 200:
        problems.append(f"{where}: {response.status_code} {response.text[:400]}")
        return
    body = response.content
    # detail=full answers an extended codelist resolved: its codes, the inherited ones included.
    original = served.originals[key] if raw else resolved(served.originals[key])
    if family == "json":
        from tests.jsonschemas import assert_valid as assert_json_valid

        assert_json_valid(body, fmt[4:])
    else:
        assert_valid(body)
        digest = xml_digest(body)
        if set(digest) != {key}:
            problems.append(f"{where}: the answer holds {sorted(digest)}")
        elif key in served.xml and original is served.originals[key]:
            diffs = differences(_as_held(served, key), digest[key])
            if diffs:
                problems.append(f"{where}: the XML says other things than the sample: {diffs[:5]}")
    check_read_back(served, key, original, body, fmt, family, problems)
    if fmt in PYSDMX_FORMATS and key[0] in PYSDMX_KINDS and not raw:
        check_pysdmx(served, key, original, body, fmt, problems)


def _as_held(served: Served, key: Key) -> dict:
    """The sample's XML digest of an artefact, less what KNOWN_LOSSES says the registry cannot
    hold (parents outside a partial codelist); the loss must still be there."""
    digest = served.xml[key]
    if (served.name, key[2]) not in KNOWN_LOSSES:
        return digest
    ids = {item[1] for item in digest["items"]}
    items = [(d, i, p if p in ids else None, n, t, f) for d, i, p, n, t, f in digest["items"]]
    assert items != digest["items"], f"{key}: listed in KNOWN_LOSSES, but nothing is lost"
    return {**digest, "items": items}


def _limit(served: Served, key: Key, reader: str, fmt: str) -> str | None:
    return CLIENT_LIMITS.get((served.name, key[2], reader, fmt))


def check_read_back(served: Served, key: Key, original, body: bytes, fmt: str, family: str, problems: list) -> None:
    where = f"{key} in {fmt}"
    reader = "codec" if family == "json" else "sdmx1"
    limit = _limit(served, key, reader, fmt)
    try:
        got = read_answer(body, family).get(key)
        assert got is not None, "not in the answer"
        want, have = comparable(original, fmt, reader), comparable(got, fmt, reader)
        if reader == "sdmx1" and not got.name.localizations:
            # sdmx1 loses the names of some artefacts (VTL schemes, structure sets, hierarchies,
            # structures with a dataflow relationship); the XML digest compares them.
            have["name"], have["description"] = want["name"], want.get("description")
        diffs = differences(want, have)
    except Exception as exc:  # a reader's failure on a valid answer
        diffs = [f"{type(exc).__name__}: {exc}"]
    if limit is not None:
        served.limits_hit.add((key[2], reader, fmt))
        if not diffs:
            problems.append(f"{where}: {reader} now reads it right; take it off CLIENT_LIMITS ({limit})")
    elif diffs:
        problems.append(f"{where}: {reader} reads back another artefact:\n    " + "\n    ".join(diffs[:12]))


def check_pysdmx(served: Served, key: Key, original, body: bytes, fmt: str, problems: list) -> None:
    from pysdmx.io import read_sdmx

    limit = _limit(served, key, "pysdmx", fmt)
    try:
        # (pysdmx validates SDMX-JSON only with an extra the project does not install)
        message = read_sdmx(io.BytesIO(body), validate=not fmt.startswith("json"))
        got = getattr(message, PYSDMX_KINDS[key[0]])(f"{BY_NAME[key[0]].urn_class}={key[1]}:{key[2]}({key[3]})")
        diffs = differences(expected_pysdmx(original), pysdmx_digest(got))
    except Exception as exc:
        diffs = [f"{type(exc).__name__}: {str(exc)[:300]}"]
    if limit is not None:
        served.limits_hit.add((key[2], "pysdmx", fmt))
        if not diffs:
            problems.append(f"{key} in {fmt}: pysdmx now reads it right; take it off CLIENT_LIMITS ({limit})")
    elif diffs:
        problems.append(f"{key} in {fmt}: pysdmx reads another artefact: {diffs[:8]}")


def assert_no_problems(served: Served, problems: list, fmt: str, readers: tuple[str, ...],
                       checked: list[Key]) -> None:
    ids = {k[2] for k in checked}
    listed = {(aid, reader, f) for (name, aid, reader, f) in CLIENT_LIMITS
              if name == served.name and f == fmt and reader in readers and aid in ids}
    hit = {h for h in served.limits_hit if h[2] == fmt}
    served.limits_hit.clear()
    problems += [f"listed in CLIENT_LIMITS but not met: {m}" for m in sorted(listed - hit)]
    assert not problems, "\n".join(problems)


# -- the tests ------------------------------------------------------------------------------------


def test_every_artefact_over_rest_v1(served):
    problems: list[str] = []
    checked = [k for k in served.defined if BY_NAME[k[0]].v1]  # else the 2.1 row of REST v2 says 406
    served.limits_hit.clear()
    for key in checked:
        response = get(served, f"{BY_NAME[key[0]].v1[0]}/{key[1]}/{key[2]}/{key[3]}")
        check_answer(served, key, response, "2.1", "xml", problems)
    assert_no_problems(served, problems, "2.1", ("sdmx1", "pysdmx"), checked)


@pytest.mark.parametrize("row", V2_ROWS, ids=lambda r: r.content_type.split("/")[1].replace("; version=", "-"))
def test_every_artefact_over_rest_v2(served, row):
    problems: list[str] = []
    fmt = fmt_of(row)
    # REST v2 has no artefact type for HierarchicalCodelist and StructureSet.
    checked = [k for k in served.defined if BY_NAME[k[0]].v2]
    served.limits_hit.clear()
    for key in checked:
        path = f"v2/structure/{BY_NAME[key[0]].v2}/{key[1]}/{key[2]}/{key[3]}"
        check_answer(served, key, get(served, path, row.content_type), fmt, row.family, problems)
        if getattr(served.originals[key], "extends", None):  # and as stored
            check_answer(served, key, get(served, path, row.content_type, detail="raw"), fmt, row.family, problems,
                         raw=True)
    assert_no_problems(served, problems, fmt, ("sdmx1", "pysdmx", "codec"), checked)


def closure(served: Served, start: Key, deep: bool) -> set[Key]:
    """The artefacts `start` refers to (and, deep, they refer to), as held by the registry."""
    found: set[Key] = set()
    frontier = [start]
    while frontier:
        nxt = []
        for key in frontier:
            artefact = served.originals.get(key)
            if artefact is None or artefact.is_external_reference:
                continue
            for urn in expected_references(artefact):
                child = key_of_urn(urn)
                assert child in served.held, f"{key} refers to {child}, which the registry does not hold"
                if child not in found and child != start:
                    found.add(child)
                    nxt.append(child)
        frontier = nxt if deep else []
    return found


def test_structures_with_their_children_and_descendants(served):
    dsds = [k for k in served.defined if k[0] == "datastructure" and not served.originals[k].is_external_reference]
    if not dsds:
        pytest.skip("no data structure in this sample")
    for key in dsds:
        for references, deep in (("children", False), ("descendants", True)):
            want = closure(served, key, deep) | {key}
            response = get(served, f"datastructure/{key[1]}/{key[2]}/{key[3]}", references=references)
            assert response.status_code == 200, response.text[:300]
            assert_valid(response.content)
            digest = xml_digest(response.content)
            assert set(digest) == want, (references, sorted(set(digest) ^ want))
            for child in want & set(served.xml):
                assert not differences(served.xml[child], digest[child]), (references, child)
        row = next((r for r in V2_ROWS if fmt_of(r) == "3.0"), None)
        if row is None:
            continue
        # What SDMX-ML 3.0 cannot express is left out when it only comes along; the DSD itself
        # is a 406.
        response = get(served, f"v2/structure/datastructure/{key[1]}/{key[2]}/{key[3]}", row.content_type,
                       references="descendants")
        if (served.name, key[2], "3.0") in NOT_EXPRESSIBLE:
            assert response.status_code == 406, response.text[:300]
            continue
        want = {k for k in closure(served, key, True)
                if expressible(BY_NAME[k[0]], "3.0") and (served.name, k[2], "3.0") not in NOT_EXPRESSIBLE} | {key}
        assert response.status_code == 200, response.text[:300]
        assert_valid(response.content)
        assert set(xml_digest(response.content)) == want


@pytest.mark.parametrize("fmt", ["2.1", "3.0", "3.1"])
def test_answers_load_back_as_stored(served, fmt, tmp_path):
    """Every artefact's answer, loaded into another registry, is stored as the first registry
    stores it (but for what the format cannot carry): our answers are messages the server
    reads back without loss, through sdmx1 and its repairs, in every SDMX-ML version."""
    row = next((r for r in V2_ROWS if fmt_of(r) == fmt), None)
    if row is None and fmt != "2.1":
        pytest.skip(f"the server does not offer SDMX-ML {fmt}")
    files, sent = [], []
    for key in served.defined:
        kind = BY_NAME[key[0]]
        if not expressible(kind, fmt) or (served.name, key[2], fmt) in NOT_EXPRESSIBLE or not kind.v2 and fmt != "2.1":
            continue
        if fmt == "2.1" and kind.v1:
            if getattr(served.originals[key], "extends", None):
                continue  # served resolved: SDMX 2.1 has no codelist extensions
            response = get(served, f"{kind.v1[0]}/{key[1]}/{key[2]}/{key[3]}")
        elif kind.v2 and row is not None:
            response = get(served, f"v2/structure/{kind.v2}/{key[1]}/{key[2]}/{key[3]}", row.content_type,
                           detail="raw")  # as stored (an extended codelist unresolved)
        else:
            continue
        assert response.status_code == 200, (key, response.text[:300])
        limit = RELOAD_LIMITS.get((served.name, key[2], fmt))
        if limit is not None:
            # The server cannot read this answer of its own; it says why, and the rest loads.
            alone = load_into_fresh(tmp_path / key[2], [write_answer(tmp_path, response.content)])
            assert not alone.ok and limit[1] in " ".join(alone.errors), alone.errors
            continue
        files.append(write_answer(tmp_path, response.content))
        sent.append(key)
    if not files:
        pytest.skip(f"nothing in this sample is expressible in SDMX-ML {fmt}")
    outcome = load_into_fresh(tmp_path, files)
    assert outcome.ok, outcome.errors
    first, second = stored_forms(served.url), stored_forms(f"sqlite:///{tmp_path / 'store.db'}")
    problems = []
    for key in sent:
        diffs = differences(normalise_stored(first[key], fmt), normalise_stored(second[key], fmt))
        if diffs:
            problems.append(f"{key}: " + "; ".join(diffs[:6]))
    assert not problems, "\n".join(problems)
