"""What the catalogue shows: the dataflows one visitor may read, placed in the themes of the
category schemes (categorisations), and found by search in either language.

Built from registry entries through the request's gate (never a model, never a fact table):
a dataflow the visitor may not read is not there, nor is a categorisation of it, nor a theme
that would hold only such dataflows. The latest version of each dataflow is the one listed;
older versions are named with it.

Search (`search`): every word the visitor types must be found in a dataflow's names,
descriptions, id or the names of its themes, in Persian or English, after both sides are
folded the same way (persian/text.py `fold_for_search`: Arabic ي and ك as Persian ی and ک,
the zero-width non-joiner as a space, Persian and Arabic digits as ASCII, hamza forms, marks,
case). A word also matches across a space or non-joiner the text has and the visitor left out
(بیمهشدگان finds بیمه‌شدگان).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sdmx_server.access.gate import Gate
from sdmx_server.persian.numbers import LANGS
from sdmx_server.persian.text import fold_for_search
from sdmx_server.registry.index import Entry, parse_urn
from sdmx_server.versions import version_key

Flow = tuple[str, str, str]
#: (scheme agency, scheme id, scheme version, category path "A.B")
CategoryRef = tuple[str, str, str, str]


def texts(value) -> dict[str, str]:
    """A stored name or description ({"fa": ..., "en": ...}, or one string) as a dict."""
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items() if v}
    return {"en": str(value)} if value else {}


@dataclass
class FlowCard:
    """One dataflow as the catalogue lists it."""

    agency: str
    id: str
    version: str
    access: str
    names: dict[str, str]
    descriptions: dict[str, str]
    older: list[str] = field(default_factory=list)
    categories: list[CategoryRef] = field(default_factory=list)
    #: filled by the page: when the data last changed and when they are next published (UTC)
    last_update: object = None
    next_release: object = None

    @property
    def key(self) -> Flow:
        return (self.agency, self.id, self.version)

    @property
    def path(self) -> str:
        return f"/dataflow/{self.agency}/{self.id}/{self.version}"


@dataclass
class Theme:
    """A category with the dataflows filed under it and its sub-themes (those that hold any)."""

    ref: CategoryRef
    names: dict[str, str]
    descriptions: dict[str, str]
    children: list["Theme"] = field(default_factory=list)
    flows: list[FlowCard] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "theme-" + self.ref[3].replace(".", "-")

    def count(self) -> int:
        """Dataflows here and below, each once."""
        return len({f.key for f in self.all_flows()})

    def all_flows(self) -> list[FlowCard]:
        return [*self.flows, *(f for child in self.children for f in child.all_flows())]


@dataclass
class Scheme:
    key: Flow
    names: dict[str, str]
    descriptions: dict[str, str]
    themes: list[Theme]


@dataclass
class Catalogue:
    flows: list[FlowCard]
    schemes: list[Scheme]
    #: dataflows no visible categorisation files anywhere
    unfiled: list[FlowCard]
    theme_names: dict[CategoryRef, dict[str, str]]


def build(gate: Gate) -> Catalogue:
    registry = gate.registry
    latest: dict[tuple[str, str], list[Entry]] = {}
    for entry in registry.entries("dataflow"):
        if not entry.is_stub and gate.visible(entry):
            latest.setdefault((entry.agency, entry.id), []).append(entry)
    cards: dict[Flow, FlowCard] = {}
    by_any_version: dict[Flow, FlowCard] = {}
    for versions in latest.values():
        versions.sort(key=lambda e: version_key(e.version), reverse=True)
        top = versions[0]
        body = top.json()
        card = FlowCard(top.agency, top.id, top.version, top.access, texts(body.get("names") or body.get("name")),
                        texts(body.get("descriptions") or body.get("description")),
                        older=[e.version for e in versions[1:]])
        cards[card.key] = card
        for e in versions:
            by_any_version[e.artefact_key] = card

    filed: dict[CategoryRef, list[FlowCard]] = {}
    for entry in registry.entries("categorisation"):
        if entry.is_stub or not gate.visible(entry):
            continue
        body = entry.json()
        source, target = parse_urn(body.get("source") or ""), parse_urn(body.get("target") or "")
        if source is None or target is None or source[0].name != "dataflow" or not target[4]:
            continue
        card = by_any_version.get(source[1:4])
        if card is None:
            continue
        ref: CategoryRef = (*target[1:4], target[4])
        if ref not in card.categories:
            card.categories.append(ref)
            filed.setdefault(ref, []).append(card)

    schemes: list[Scheme] = []
    theme_names: dict[CategoryRef, dict[str, str]] = {}
    for entry in sorted(registry.entries("categoryscheme"), key=lambda e: e.artefact_key):
        if entry.is_stub or not gate.visible(entry):
            continue
        body = entry.json()
        themes = _themes(entry.artefact_key, body.get("categories") or [], "", filed, theme_names)
        if themes:
            schemes.append(Scheme(entry.artefact_key, texts(body.get("names") or body.get("name")),
                                  texts(body.get("descriptions") or body.get("description")), themes))
    placed = {f.key for s in schemes for t in s.themes for f in t.all_flows()}
    ordered = sorted(cards.values(), key=lambda c: (c.agency, c.id))
    return Catalogue(ordered, schemes, [c for c in ordered if c.key not in placed], theme_names)


def _themes(scheme: Flow, items: list[dict], prefix: str, filed: dict[CategoryRef, list[FlowCard]],
            names: dict[CategoryRef, dict[str, str]]) -> list[Theme]:
    """The categories (in the scheme's order) that hold a visible dataflow, here or below."""
    found = []
    for item in items:
        path = f"{prefix}{item['id']}"
        ref: CategoryRef = (*scheme, path)
        names[ref] = texts(item.get("names") or item.get("name"))
        theme = Theme(ref, names[ref], texts(item.get("descriptions") or item.get("description")),
                      _themes(scheme, item.get("categories") or [], path + ".", filed, names),
                      sorted(filed.get(ref, []), key=lambda c: (c.agency, c.id)))
        if theme.flows or theme.children:
            found.append(theme)
    return found


# -- search ---------------------------------------------------------------------------------------


def haystack(card: FlowCard, theme_names: dict[CategoryRef, dict[str, str]]) -> str:
    parts = [card.id, card.agency, *card.names.values(), *card.descriptions.values()]
    for ref in card.categories:
        parts.extend(theme_names.get(ref, {}).values())
    return "\n".join(fold_for_search(p) for p in parts)


def terms(query: str) -> list[str]:
    """The words of a query, folded; empty when it has none."""
    return fold_for_search(query).split()


def matches(words: list[str], text: str) -> bool:
    joined = text.replace(" ", "")
    return all(w in text or w in joined for w in words)


def search(catalogue: Catalogue, query: str) -> list[FlowCard]:
    """The dataflows every word of `query` is found in: those whose name holds them first."""
    words = terms(query)
    if not words:
        return []
    found = []
    for card in catalogue.flows:
        if matches(words, haystack(card, catalogue.theme_names)):
            in_name = matches(words, "\n".join(fold_for_search(p) for p in [card.id, *card.names.values()]))
            found.append((0 if in_name else 1, card.id, card))
    return [card for *_, card in sorted(found, key=lambda x: x[:2])]


def name_in(values: dict[str, str], lang: str) -> str:
    """The text in `lang`, else in the other language, else any."""
    for candidate in (lang, *[x for x in LANGS if x != lang]):
        if values.get(candidate):
            return values[candidate]
    return next(iter(values.values()), "")
