"""Reference metadata (definitions, counting rules) next to the data they describe.

Which sets describe a dataflow is what the SDMX API's "metadata by structure" query answers
(api/metadata.py select_metadata, the one selection): the sets whose targets are the dataflow,
its DSD, or the codelists and concept schemes that DSD uses (a definition of the code
SUPPORT_RATIO of CL_INDICATOR describes DF_KPI's series of that indicator). A set about
something the visitor may not see is invisible, as in the API.

`about_flow(gate, flow, lang)` is the context the explorer page includes with
`{% include "_about_flow.html" %}` (variable `about`); `/metadata/dataflow/...` shows it in
full, `/metadata/metadataset/...` one set.

A set's values are shown through its metadata structure: the attribute's concept gives the
heading (CS_REFMETA's names in both languages), a coded value its code's name, XHTML is
reduced to a few inline and block tags without attributes (sanitise_xhtml): text from the
registry never becomes markup the page did not mean.
"""

from __future__ import annotations

from html import escape
from html.parser import HTMLParser
from typing import Any

from markupsafe import Markup

from sdmx_server.access.gate import Gate
from sdmx_server.api.metadata import select_metadata, targets_of
from sdmx_server.errors import NoResults
from sdmx_server.persian.numbers import Lang
from sdmx_server.portal.render import link, localised
from sdmx_server.portal.structure_views import find_item, names, resolve_ref
from sdmx_server.query.model import MetadataByFlowQuery, MetadataByStructureQuery
from sdmx_server.registry.index import Entry, parse_urn
from sdmx_server.versions import Exactly

#: Kinds whose metadata describe a dataflow's data, beside the dataflow itself.
_DESCRIBING = ("datastructure", "codelist", "conceptscheme")
METADATA_FORMATS = (("SDMX-ML 3.1", "sdmx-ml"), ("SDMX-JSON 2.1", "sdmx-json"))


def metadata_api_links(path: str) -> list[dict[str, str]]:
    return [{"label": label, "href": f"/rest/v2/metadata/{path}?format={name}"} for label, name in METADATA_FORMATS]


def sets_about(gate: Gate, entries: list[Entry]) -> list[Entry]:
    """The latest visible metadata sets targeting any of these artefacts (or their items)."""
    if not entries:
        return []
    query = MetadataByStructureQuery(kinds=tuple(sorted({e.kind for e in entries})),
                                     agencies=tuple(sorted({e.agency for e in entries})),
                                     ids=tuple(sorted({e.id for e in entries})))
    try:
        found = select_metadata(gate.registry, query, gate.view)
    except NoResults:
        return []
    keys = {e.key for e in entries}
    # the query matches agency × id × latest version; keep the sets about these very artefacts
    return [s for s in found if any(t.key in keys for t in targets_of(gate.registry, s))]


def metadataflow_view(gate: Gate, flow: Entry, lang: Lang) -> dict[str, Any]:
    """The sets reported for a metadataflow (the API's "metadata by metadataflow" query), each
    with what it defines."""
    query = MetadataByFlowQuery(agencies=(flow.agency,), ids=(flow.id,), versions=Exactly((flow.version,)))
    try:
        found = select_metadata(gate.registry, query, gate.view)
    except NoResults:
        found = []
    rows = []
    for s in found:
        refs = [r for r in (resolve_ref(gate, urn, lang) for urn in s.json().get("targets") or ()) if r is not None]
        rows.append({"id": s.id, "name": names(s.json(), lang), "targets": refs,
                     "href": link(lang, f"/metadata/metadataset/{s.agency}/{s.id}/{s.version}")})
    return {"sets": rows, "api": metadata_api_links(f"metadataflow/{flow.agency}/{flow.id}/{flow.version}")}


# -- one set, as a page shows it ----------------------------------------------------------------


class _Sanitiser(HTMLParser):
    ALLOWED = {"p", "i", "em", "b", "strong", "sub", "sup", "br", "ul", "ol", "li", "span"}
    #: elements whose content is not text to show
    DROPPED = {"script", "style"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.DROPPED:
            self.dropping += 1
        elif tag in self.ALLOWED:
            if tag == "br":
                self.out.append("<br>")
            else:
                self.out.append(f"<{tag}>")
                self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag in self.open:
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(escape(data, quote=False))


def sanitise_xhtml(text: str) -> Markup:
    parser = _Sanitiser()
    parser.feed(text)
    parser.close()
    return Markup("".join(parser.out + [f"</{t}>" for t in reversed(parser.open)]))


def _msd_attributes(gate: Gate, entry: Entry) -> dict[str, dict]:
    """The set's metadata structure's attributes by id (nested ones too), via its metadataflow."""
    flow = gate.registry.resolve(entry.json().get("metadataflow") or "")
    msd = gate.registry.resolve(flow.json().get("structure") or "") if flow is not None else None
    found: dict[str, dict] = {}

    def walk(attributes):
        for a in attributes or []:
            found[a.get("id")] = a
            walk(a.get("metadataAttributes"))

    if msd is not None:
        components = msd.json().get("metadataStructureComponents") or {}
        walk((components.get("metadataAttributeList") or {}).get("metadataAttributes"))
    return found


def _value(gate: Gate, value: Any, definition: dict, lang: Lang) -> dict[str, Any]:
    """A coded value with its code's name; XHTML sanitised; text in `lang`."""
    rep = definition.get("localRepresentation") or {}
    if rep.get("enumeration") and isinstance(value, str):
        codelist = gate.registry.resolve(rep["enumeration"])
        code = find_item(codelist.json(), value) if codelist is not None and gate.visible(codelist) else None
        return {"code": value, "text": names(code, lang) if code else value}
    if (rep.get("format") or {}).get("dataType") == "XHTML":
        return {"html": sanitise_xhtml(localised(value, lang))}
    return {"text": localised(value, lang)}


def set_view(gate: Gate, entry: Entry, lang: Lang) -> dict[str, Any]:
    """A set's attributes, in the set's order, with headings and values in `lang`."""
    definitions = _msd_attributes(gate, entry)

    def attribute(a: dict) -> dict[str, Any]:
        definition = definitions.get(a.get("id"), {})
        concept = resolve_ref(gate, definition.get("conceptIdentity"), lang)
        values = a.get("value")
        listed = values if isinstance(values, list) else ([] if values is None else [values])
        if (a.get("format") or {}).get("dataType") == "XHTML":  # the set may say XHTML itself
            definition = {**definition, "localRepresentation": {"format": {"dataType": "XHTML"}}}
        shown = [_value(gate, v, definition, lang) for v in listed]
        return {"id": a.get("id"), "heading": concept.name if concept else a.get("id"), "values": shown,
                "parts": [attribute(x) for x in a.get("attributes") or []]}

    targets = []
    for urn in entry.json().get("targets") or ():
        ref = resolve_ref(gate, urn, lang)
        if ref is not None:
            targets.append(ref)
    return {"id": entry.id, "agency": entry.agency, "version": entry.version, "name": names(entry.json(), lang),
            "href": link(lang, f"/metadata/metadataset/{entry.agency}/{entry.id}/{entry.version}"),
            "targets": targets,
            "attributes": [attribute(a) for a in entry.json().get("attributes") or []],
            "api": metadata_api_links(f"metadataset/{entry.agency}/{entry.id}/{entry.version}")}


# -- a dataflow's -------------------------------------------------------------------------------


def describing(gate: Gate, flow: Entry) -> list[Entry]:
    """The flow, its DSD and the codelists and concept schemes the DSD uses (visible ones)."""
    found = [flow]
    for dsd in gate.registry.children_of(flow):
        if dsd.kind != "datastructure" or not gate.visible(dsd):
            continue
        found.append(dsd)
        found.extend(c for c in gate.registry.children_of(dsd) if c.kind in _DESCRIBING and gate.visible(c))
    return found


def about_flow(gate: Gate, flow: tuple[str, str, str], lang: Lang) -> dict[str, Any] | None:
    """What the explorer shows beside a dataflow's data: its description, where its structure
    is, and every definition that describes it (each with what it defines: the code or
    concept, and the dimension that uses it). None when the visitor may not see the flow."""
    entry = gate.registry.entry("dataflow", *flow)
    if entry is None or entry.is_stub or not gate.visible(entry):
        return None
    obj = entry.json()
    scope = describing(gate, entry)
    dsd = next((e for e in scope if e.kind == "datastructure"), None)
    used_by = _dimensions_using(dsd) if dsd else {}
    definitions = []
    found = sets_about(gate, scope)
    for s in found:
        view = set_view(gate, s, lang)
        view["about"] = [{"target": t, "dimension": used_by.get((t.kind, t.agency, t.id, t.version))}
                         for t in view["targets"]]
        definitions.append(view)
    agency, flow_id, version = flow
    return {
        "flow": {"agency": agency, "id": flow_id, "version": version, "name": names(obj, lang),
                 "description": localised(obj.get("descriptions") or obj.get("description"), lang)},
        "structure": ({"name": names(dsd.json(), lang),
                       "href": link(lang, f"/structure/datastructure/{dsd.agency}/{dsd.id}/{dsd.version}")}
                      if dsd else None),
        "page": link(lang, f"/metadata/dataflow/{agency}/{flow_id}/{version}"),
        "definitions": definitions,
        "api": _api_links_of(gate, scope, found),
    }


def _api_links_of(gate: Gate, scope: list[Entry], found: list[Entry]) -> list[dict[str, str]]:
    """The API queries answering the same sets: metadata by structure, for each artefact of
    the flow's scope that a set targets (the flow itself when none does: its empty answer)."""
    keys = {t.key for s in found for t in targets_of(gate.registry, s)}
    targeted = [e for e in scope if e.key in keys] or scope[:1]
    links = []
    for e in targeted:
        for item in metadata_api_links(f"structure/{e.kind}/{e.agency}/{e.id}/{e.version}"):
            links.append({"label": f"{e.id} · {item['label']}", "href": item["href"]})
    return links


def _dimensions_using(dsd: Entry) -> dict[tuple, str]:
    """(kind, agency, id, version) of a codelist -> the id of the DSD's component it codes."""
    found: dict[tuple, str] = {}
    components = dsd.json().get("dataStructureComponents") or {}
    for dim in (components.get("dimensionList") or {}).get("dimensions") or []:
        parsed = parse_urn((dim.get("localRepresentation") or {}).get("enumeration") or "")
        if parsed is not None:
            found[(parsed[0].name, parsed[1], parsed[2], parsed[3])] = dim.get("id")
    return found


def definitions_by_item(gate: Gate, scheme: Entry, lang: Lang) -> dict[str, dict[str, str]]:
    """item id -> the first set defining it (name, page) for a codelist or concept scheme page."""
    found: dict[str, dict[str, str]] = {}
    for s in sets_about(gate, [scheme]):
        for urn in s.json().get("targets") or ():
            parsed = parse_urn(urn)
            if parsed and parsed[4] and parsed[1:4] == (scheme.agency, scheme.id, scheme.version):
                found.setdefault(parsed[4], {"name": names(s.json(), lang),
                                             "href": link(lang, f"/metadata/metadataset/{s.agency}/{s.id}/{s.version}")})
    return found
