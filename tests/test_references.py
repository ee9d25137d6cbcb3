"""`references`: random graphs of artefacts, every walk against a brute-force oracle.

The walks run on the index's entries (their stored references), so a graph of entries with
random references, including references to artefacts nobody loaded and wildcarded versions,
is all the registry needs. The oracle computes the same sets from the edge list directly.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sdmx_server.kinds import BY_NAME
from sdmx_server.registry.index import Entry, Registry
from sdmx_server.registry.select import walk

KINDS = ("codelist", "conceptscheme", "datastructure", "dataflow", "categoryscheme", "categorisation", "dataconstraint")
WALKS = ("none", "children", "descendants", "parents", "ancestors", "parentsandsiblings", "all")


@st.composite
def graphs(draw):
    """Artefacts (kind, id, version) and references between them (some to nothing)."""
    n = draw(st.integers(1, 14))
    nodes = [(draw(st.sampled_from(KINDS)), f"A{i}", draw(st.sampled_from(["1.0", "1.0.0", "2.1.0"]))) for i in range(n)]
    nodes = list(dict.fromkeys(nodes))
    edges = set()
    for source in range(len(nodes)):
        for target in draw(st.lists(st.integers(0, len(nodes) - 1), max_size=4)):
            if target != source:
                edges.add((source, target))
    dangling = draw(st.lists(st.integers(0, len(nodes) - 1), max_size=3))
    return nodes, sorted(edges), dangling


def _urn(node) -> str:
    kind, artefact_id, version = node
    return BY_NAME[kind].urn("T", artefact_id, version)


def _registry(nodes, edges, dangling) -> Registry:
    refs = {i: [] for i in range(len(nodes))}
    for source, target in edges:
        refs[source].append(_urn(nodes[target]))
    for source in dangling:
        refs[source].append(BY_NAME["codelist"].urn("T", "NOBODY", "1.0"))
    entries = [
        Entry(kind, "T", artefact_id, version, False, False, "public", b"{}", tuple(refs[i]), 0)
        for i, (kind, artefact_id, version) in enumerate(nodes)
    ]
    return Registry(entries, 1, builder=lambda *a: None)


def _oracle(nodes, edges, start: set[int], which: str) -> set[int]:
    children = {i: {t for s, t in edges if s == i} for i in range(len(nodes))}
    parents = {i: {s for s, t in edges if t == i} for i in range(len(nodes))}

    def close(seed: set[int], step) -> set[int]:
        found, frontier = set(), set(seed)
        while frontier:
            frontier = {n for f in frontier for n in step[f]} - found
            found |= frontier
        return found

    one_up = {p for s in start for p in parents[s]}
    result = {
        "none": set(),
        "children": {c for s in start for c in children[s]},
        "descendants": close(start, children),
        "parents": one_up,
        "ancestors": close(start, parents),
        "parentsandsiblings": one_up | {c for p in one_up for c in children[p]},
        "all": one_up | {c for p in one_up for c in children[p]} | close(start, children),
    }.get(which)
    if result is None:  # a kind: that kind among parents and descendants
        result = {i for i in one_up | close(start, children) if nodes[i][0] == which}
    return result - start


@settings(max_examples=300, deadline=None)
@given(graph=graphs(), data=st.data())
def test_every_walk_equals_the_oracle(graph, data):
    nodes, edges, dangling = graph
    registry = _registry(nodes, edges, dangling)
    start = set(data.draw(st.lists(st.integers(0, len(nodes) - 1), min_size=1, max_size=3)))
    which = data.draw(st.sampled_from(WALKS + KINDS))
    entries = [registry.entry(nodes[i][0], "T", nodes[i][1], nodes[i][2]) for i in sorted(start)]
    got = {(e.kind, e.id, e.version) for e in walk(registry, entries, [which])}
    assert got == {nodes[i] for i in _oracle(nodes, edges, start, which)}


@settings(max_examples=100, deadline=None)
@given(graph=graphs(), data=st.data())
def test_several_walks_are_their_union(graph, data):
    nodes, edges, dangling = graph
    registry = _registry(nodes, edges, dangling)
    start = [registry.entry(*nodes[0][:1], "T", *nodes[0][1:])]
    walks = data.draw(st.lists(st.sampled_from(WALKS + KINDS), min_size=1, max_size=3))
    together = {e.key for e in walk(registry, start, walks)}
    apart = set().union(*({e.key for e in walk(registry, start, [w])} for w in walks))
    assert together == apart


def test_wildcarded_references_resolve_to_the_latest_stable_version_in_scope():
    entries = [
        Entry("codelist", "T", "CL", version, False, False, "public", b"{}", (), 0)
        for version in ("1.0.0", "1.2.0", "1.3.0-draft", "2.0.0")
    ]
    dsd = Entry("datastructure", "T", "DSD", "1.0.0", False, False, "public", b"{}",
                (BY_NAME["codelist"].urn("T", "CL", "1.0+.0"),), 0)
    registry = Registry([*entries, dsd], 1, builder=lambda *a: None)
    assert [(e.id, e.version) for e in registry.children_of(dsd)] == [("CL", "1.2.0")]
    assert [e.id for e in registry.parents_of(registry.entry("codelist", "T", "CL", "1.2.0"))] == ["DSD"]
    assert registry.parents_of(registry.entry("codelist", "T", "CL", "2.0.0")) == []
