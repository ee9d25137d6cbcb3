"""Changing the registry: artefacts in (created, replaced, partially updated) and out (deleted).

One code path for the CLI and for REST maintenance. Every change is checked against the whole
registry as it would be before anything is saved:
- a final artefact (a stable semantic version, or marked final) never changes: the same
  content again is accepted as unchanged, different content is refused (publish a new version);
  "the same" means equal stored forms as the current code writes them, not equal bytes;
- an external-reference stub never replaces an artefact held in full;
- every reference of a new or changed artefact resolves (or, when asked, is recorded as an
  external-reference stub that the full artefact replaces when it is loaded);
- stored data still fit the structures of their dataflows;
- an artefact still referenced by another, a final one, or a dataflow holding data is not
  deleted.
The outcome lists a result per artefact, with the HTTP status REST maintenance answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Literal

import orjson

from sdmx_server.kinds import BY_NAME, JSON_ITEMS
from sdmx_server.registry import codec
from sdmx_server.registry.index import Entry, Registry, parse_urn
from sdmx_server.registry.messages import Candidate
from sdmx_server.registry.store import Key, Put, read_all, save
from sdmx_server.store.database import Database
from sdmx_server.versions import is_stable, is_wildcarded

Action = Literal["Append", "Replace", "Delete", "Information"]
Status = Literal["Success", "Failure", "Warning"]


@dataclass
class ArtefactResult:
    """What became of one submitted artefact (SubmitStructureResponse's SubmissionResult)."""

    kind: str
    agency: str
    id: str
    version: str
    action: Action
    status: Status
    code: int  # the HTTP status for this artefact: 200, 201, 404, 409, 422
    message: str
    #: Failed only because others did (all or nothing): not a problem of its own.
    cascaded: bool = False

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.agency}:{self.id}({self.version})"

    @property
    def urn(self) -> str:
        return BY_NAME[self.kind].urn(self.agency, self.id, self.version)


@dataclass
class ChangeOutcome:
    results: list[ArtefactResult] = field(default_factory=list)
    #: Problems that concern no single artefact (an unreadable file...).
    errors: list[str] = field(default_factory=list)
    generation: int | None = None
    stubs: list[str] = field(default_factory=list)  # stubs made for missing references

    @property
    def failures(self) -> list[ArtefactResult]:
        return [r for r in self.results if r.status == "Failure"]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failures

    @property
    def saved(self) -> list[ArtefactResult]:
        return [r for r in self.results if r.status == "Success" and r.action != "Information"]

    def problems(self) -> list[str]:
        return self.errors + [f"{r.ref}: {r.message}" for r in self.failures if not r.cascaded]


def apply_changes(
    db: Database,
    candidates: list[Candidate],
    *,
    allow_missing_references: bool = False,
    partial_success: bool = False,
    registry: Registry | None = None,
) -> ChangeOutcome:
    """Check the candidates against the registry and save them: all of them or none, or with
    `partial_success` every one that passes (those whose references fail with others fail too)."""
    outcome = ChangeOutcome()
    if registry is None:
        stored, generation = read_all(db)
        registry = Registry.build(stored, generation)
    candidates = _deduplicate(candidates, outcome)
    pending: dict[Key, Candidate] = {}
    for candidate in candidates:
        decided = _against_stored(registry, candidate)
        if isinstance(decided, ArtefactResult):
            outcome.results.append(decided)
        else:
            pending[candidate.key] = decided
    if outcome.failures and not partial_success:
        return _refuse_all(outcome, pending)

    while True:
        failed: dict[Key, ArtefactResult] = {}
        stubs: dict[Key, Put] = {}
        puts = {key: put_for(registry, c) for key, c in pending.items()}
        trial = registry.updated(list(puts.values()), [], registry.generation + 1)
        for key, put in puts.items():
            entry = trial.entry(*key)
            missing = trial.missing_of(entry)
            if missing and allow_missing_references:
                for urn in missing:
                    stub = _stub_for(urn)
                    if stub is None:
                        failed[key] = _failure(pending[key], 409, f"refers to {urn}, which cannot be recorded as a stub")
                    else:
                        stubs.setdefault(stub.key, stub)
            elif missing:
                failed[key] = _failure(pending[key], 409, "; ".join(_missing_text(urn) for urn in missing))
        if not failed:
            failed.update(_data_conflicts(db, trial, pending))
        if not failed:
            break
        outcome.results += failed.values()
        if not partial_success:
            return _refuse_all(outcome, {k: c for k, c in pending.items() if k not in failed})
        pending = {k: c for k, c in pending.items() if k not in failed}

    if not pending:
        return outcome
    stub_puts = [s for k, s in stubs.items() if k not in puts]
    outcome.generation = save(db, list(puts.values()) + stub_puts)
    outcome.stubs = sorted(f"{s.kind} {s.agency}:{s.id}({s.version})" for s in stub_puts)
    for key, candidate in pending.items():
        existed = registry.entry(*key) is not None
        outcome.results.append(ArtefactResult(
            *key, "Replace" if existed else "Append", "Success", 200 if existed else 201,
            ("replaced" if existed else "created") + (" (partial update)" if candidate.is_partial else ""),
        ))
    return outcome


def delete_artefact(db: Database, key: Key, registry: Registry | None = None,
                    visible: Callable[[Entry], bool] | None = None) -> ChangeOutcome:
    """Delete one artefact, unless something forbids it (404, 409). `visible`: what the asker
    may see (the access gate's view); a 409 names only those of the referring artefacts, and
    counts the others, so that a refusal never names what the asker may not know exists."""
    outcome = ChangeOutcome()
    if registry is None:
        stored, generation = read_all(db)
        registry = Registry.build(stored, generation)
    entry = registry.entry(*key)
    if entry is None:
        outcome.results.append(ArtefactResult(*key, "Delete", "Failure", 404, "not found"))
        return outcome
    reason = None
    if entry.is_final and not entry.is_stub:
        reason = "it is final (stable); a final artefact is never deleted"
    elif parents := registry.parents_of(entry):
        shown = [p for p in parents if visible is None or visible(p)]
        names = [p.ref for p in shown[:5]] + (["..."] if len(shown) > 5 else [])
        if len(shown) < len(parents):
            hidden = len(parents) - len(shown)
            names.append(f"{hidden} other artefact{'s' if hidden > 1 else ''}")
        reason = f"it is referenced by {', '.join(names)}"
    elif entry.kind == "dataflow" and _holds_data(db, key):
        reason = "the dataflow holds data"
    if reason:
        outcome.results.append(ArtefactResult(*key, "Delete", "Failure", 409, f"cannot be deleted: {reason}"))
        return outcome
    outcome.generation = save(db, [], [key])
    outcome.results.append(ArtefactResult(*key, "Delete", "Success", 200, "deleted"))
    return outcome


# -- steps ------------------------------------------------------------------------------------


def _deduplicate(candidates: list[Candidate], outcome: ChangeOutcome) -> list[Candidate]:
    by_key: dict[Key, Candidate] = {}
    for candidate in candidates:
        twin = by_key.get(candidate.key)
        if twin is None or (twin.is_stub and not candidate.is_stub):
            by_key[candidate.key] = candidate
        elif not candidate.is_stub and not twin.is_stub and _canonical(twin) != _canonical(candidate):
            where = ", ".join(dict.fromkeys(w for w in (twin.where, candidate.where) if w))
            if candidate.key not in {(r.kind, r.agency, r.id, r.version) for r in outcome.failures}:
                outcome.results.append(_failure(candidate, 409, f"given twice, with different content ({where})"))
    failed = {(r.kind, r.agency, r.id, r.version) for r in outcome.failures}
    return [c for k, c in by_key.items() if k not in failed]


def _against_stored(registry: Registry, candidate: Candidate) -> Candidate | ArtefactResult:
    """The candidate as it will be stored, or the result that ends its way here."""
    stored = registry.entry(*candidate.key)
    if stored is None:
        return candidate
    if candidate.is_stub and not stored.is_stub:
        return ArtefactResult(*candidate.key, "Information", "Success", 200,
                              "unchanged: a stub only names what the registry holds in full")
    if stored.is_stub and not candidate.is_stub:
        # The full artefact replaces the stub whole. A partial scheme is not merged into it:
        # the stub has nothing to give, and the merge kept its isExternalReference, so that the
        # artefact stayed a stub for good (SDMX:CROSS_DOMAIN_CONCEPTS is sent as a partial scheme).
        return candidate
    if candidate.is_partial and candidate.kind.name in JSON_ITEMS:
        candidate = Candidate(candidate.kind, _merge_partial(candidate.kind.name, stored.json(), candidate.obj),
                              candidate.origin, candidate.access, candidate.where)
    same_access = candidate.access is None or candidate.access == stored.access
    same_body = stored.is_stub == candidate.is_stub and orjson.dumps(candidate.obj) == stored.body
    if stored.is_final and not stored.is_stub and not same_body:
        # A final artefact stays final: a message that cannot say so (SDMX-ML 3.0 and SDMX-JSON
        # 2.0 have no isFinal; SDMX-ML 2.1 says it of a semantic version) sends the same one.
        if (_canonical_json(candidate.kind.name, stored.json(), ignore_final=True)
                != _canonical_json(candidate.kind.name, candidate.obj, ignore_final=True)):
            return _failure(candidate, 409, "is final and cannot change; publish the change under a new version")
        same_body = True
        # The same meaning in other words: keep the stored form, which published answers use.
        candidate = Candidate(candidate.kind, stored.json(), candidate.origin, candidate.access, candidate.where)
    if same_body and same_access:
        return ArtefactResult(*candidate.key, "Information", "Success", 200, "unchanged")
    # A new access level is the server's governance, not SDMX content: final or not, it may change.
    return candidate


def _canonical(candidate: Candidate) -> bytes:
    return _canonical_json(candidate.kind.name, candidate.obj)


def _canonical_json(kind: str, obj: dict, ignore_final: bool = False) -> bytes:
    """The stored form as the current code writes it: meaning, not bytes, is compared
    (`ignore_final`: without what it says of finality)."""
    model = codec.from_json(BY_NAME[kind], obj, lambda urn: None)
    normal = codec.to_json(model)
    normal.pop("isPartial", None)
    if ignore_final and isinstance(normal.get(codec.X), dict):
        normal[codec.X].pop("isFinal", None)
        if not normal[codec.X]:
            del normal[codec.X]
    return orjson.dumps(normal, option=orjson.OPT_SORT_KEYS)


def _merge_partial(kind: str, stored: dict, partial: dict) -> dict:
    """REST maintenance's partial item scheme update: submitted items replace stored items of
    the same id (in place) or are added at the end; names and descriptions are replaced per
    language or added; annotations and other properties are replaced."""
    merged = json.loads(json.dumps(stored))
    items_key = JSON_ITEMS[kind]
    for name in ("names", "descriptions"):
        if partial.get(name):
            merged[name] = {**merged.get(name, {}), **partial[name]}
    for name, value in partial.items():
        if name not in (items_key, "names", "descriptions", "name", "description", "isPartial"):
            merged[name] = value
    merged[items_key] = _merge_items(merged.get(items_key, []), partial.get(items_key, []))
    for best, many in (("name", "names"), ("description", "descriptions")):
        texts = merged.get(many) or {}
        if texts:
            merged[best] = texts.get("en") or next(iter(texts.values()))
    # The result is as partial as the stored scheme was: a partial codelist (one an agency
    # sends with only some of its codes) loaded again stays what it was, unchanged.
    return merged


def _merge_items(stored: list, submitted: list) -> list:
    """Submitted items replace stored items of the same id in place, or are added at the end.
    In nested schemes this is done on the root items: a submitted root item replaces the stored
    one with all its children (maintenance.md, annex III)."""
    position = {item.get("id"): i for i, item in enumerate(stored)}
    result = list(stored)
    for item in submitted:
        at = position.get(item.get("id"))
        if at is None:
            result.append(item)
            position[item.get("id")] = len(result) - 1
        else:
            result[at] = item
    return result


def put_for(registry: Registry, candidate: Candidate) -> Put:
    obj = candidate.obj
    stored = registry.entry(*candidate.key)
    access = candidate.access or (stored.access if stored is not None else "public")
    return Put(
        candidate.kind.name, candidate.agency, candidate.id, candidate.version,
        is_final=candidate.is_final and not candidate.is_stub, is_stub=candidate.is_stub, access=access,
        body=orjson.dumps(obj), refs=orjson.dumps(codec.references(obj)).decode(), origin=candidate.origin,
    )


def _stub_for(urn: str) -> Put | None:
    parsed = parse_urn(urn)
    if parsed is None:
        return None
    kind, agency, artefact_id, version, _ = parsed
    if is_wildcarded(version):
        return None
    obj = codec.stub_json(kind, agency, artefact_id, version, urn=kind.urn(agency, artefact_id, version))
    return Put(kind.name, agency, artefact_id, version, False, True, "public", orjson.dumps(obj), "[]", origin="stub")


def _missing_text(urn: str) -> str:
    parsed = parse_urn(urn)
    if parsed is None:
        return f"refers to {urn}, which is not loaded"
    kind, agency, artefact_id, version, _ = parsed
    return f"refers to {kind.name} {agency}:{artefact_id}({version}), which is not loaded"


def _failure(candidate: Candidate, code: int, message: str) -> ArtefactResult:
    return ArtefactResult(*candidate.key, "Append", "Failure", code, message)


def _refuse_all(outcome: ChangeOutcome, others: dict[Key, Candidate]) -> ChangeOutcome:
    """All or nothing: the candidates that passed are not saved either, and say why."""
    for key in others:
        outcome.results.append(ArtefactResult(*key, "Append", "Failure", 409,
                                              "not saved: other artefacts of the submission failed", cascaded=True))
    return outcome


def _data_conflicts(db: Database, trial: Registry, pending: dict[Key, Candidate]) -> dict[Key, ArtefactResult]:
    """Dataflows whose stored data no longer fit their (new) structure."""
    from sqlmodel import Session

    from sdmx_server.registry.shape import ShapeError, data_shape
    from sdmx_server.store.tables import IncompatibleStructure, check_compatible, fact_table_row

    touched = {k for k in pending if k[0] in ("dataflow", "datastructure")}
    if not touched:
        return {}
    failed: dict[Key, ArtefactResult] = {}
    with Session(db.engine) as session:
        for entry in list(trial.entries("dataflow")):
            row = fact_table_row(session, entry.artefact_key)
            if row is None:
                continue
            dsd = next((c for c in trial.children_of(entry) if c.kind == "datastructure"), None)
            if entry.key not in touched and (dsd is None or dsd.key not in touched):
                continue
            blame = entry.key if entry.key in pending else dsd.key if dsd is not None else entry.key
            if blame not in pending:
                continue
            try:
                dataflow = trial.model(entry)
                check_compatible(json.loads(row.layout), data_shape(dataflow.structure), entry.artefact_key)
            except (IncompatibleStructure, ShapeError, AttributeError) as exc:
                failed[blame] = _failure(pending[blame], 409, str(exc))
    return failed


def _holds_data(db: Database, key: Key) -> bool:
    from sqlmodel import Session

    from sdmx_server.store.tables import fact_table_row

    with Session(db.engine) as session:
        return fact_table_row(session, key[1:]) is not None
