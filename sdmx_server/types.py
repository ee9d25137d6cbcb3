"""Names for the closed sets of values the server passes around, as starlette's types.py does.

A function that takes a detail level or an API version says so with one of these, rather than
with a bare `str`.
"""

from __future__ import annotations

from typing import Literal

#: The REST API a request came through: /rest/ (v1, spec 1.5) or /rest/v2/ (spec 2.2.2).
ApiVersion = Literal["v1", "v2"]

#: `detail` of structure queries (v1 and v2; `raw` is v2 only).
StructureDetail = Literal[
    "full", "allstubs", "referencestubs", "allcompletestubs", "referencecompletestubs", "referencepartial", "raw"
]
STRUCTURE_DETAILS: tuple[StructureDetail, ...] = (
    "full", "allstubs", "referencestubs", "allcompletestubs", "referencecompletestubs", "referencepartial", "raw",
)

#: The generic values of `references`; a kind's REST name is also accepted.
ReferenceWalk = Literal["none", "parents", "parentsandsiblings", "ancestors", "children", "descendants", "all"]
REFERENCE_WALKS: tuple[ReferenceWalk, ...] = (
    "none", "parents", "parentsandsiblings", "ancestors", "children", "descendants", "all",
)

#: `detail` of data queries (v1); v2 splits it into `attributes` and `measures`.
DataDetail = Literal["full", "dataonly", "serieskeysonly", "nodata"]
DATA_DETAILS: tuple[DataDetail, ...] = ("full", "dataonly", "serieskeysonly", "nodata")

#: How much of an artefact a structure writer writes.
#: full: everything; stub: identification and names; completestub: plus descriptions and
#: annotations.
ArtefactDetail = Literal["full", "stub", "completestub"]

#: Access levels of dataflows.
AccessLevel = Literal["public", "internal", "restricted"]

#: What a data load does with the observations it carries (SDMX-CSV ACTION, SDMX-ML dataset
#: `action`): merge (insert or update, empty values keep the stored ones), replace (insert or
#: replace whole observations), delete (matching observations, or the values named), and
#: replace-all (the dataflow's whole content becomes the load's; itself one revision).
LoadAction = Literal["merge", "replace", "delete", "replace-all"]
LOAD_ACTIONS: tuple[LoadAction, ...] = ("merge", "replace", "delete", "replace-all")

#: Where a load came from: the command line (`load-data`), an HTTP upload, a source of loaders/,
#: or the server deriving a dataflow from others (processing/derived.py).
LoadOrigin = Literal["cli", "upload", "sync", "derived"]

#: What became of a load: running (or queued behind another load of its dataflow); applied;
#: rejected by validation; failed (an error or a crash: nothing changed); validated (a dry run,
#: nothing applied); pending (validated, embargoed until its release time); released.
LoadStatus = Literal["running", "applied", "rejected", "failed", "validated", "pending", "releasing", "released"]

#: What a permission allows (issue 8, access/rules.py): read a dataflow's data and its
#: structures; read its embargoed values before release; upload data; maintain structures;
#: administer (every action, plus users, tokens and grants).
AccessAction = Literal["read", "read-embargoed", "upload", "maintain", "admin"]
ACCESS_ACTIONS: tuple[AccessAction, ...] = ("read", "read-embargoed", "upload", "maintain", "admin")

#: How a request proved who it is: not at all (the public), an API token, a password session
#: (the portal's cookie), a bearer JWT of the organisation's identity provider, or the command
#: line (whoever runs it on the server's machine), or the server itself (a scheduled sync, an
#: embargoed release: nobody asked at that moment).
AuthMethod = Literal["anonymous", "token", "session", "oidc", "cli", "system"]

#: How `serve` writes its log: one JSON object per line (for collectors), or text (a terminal).
LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "text")

#: Who may read /metrics: clients on this machine and administrators (loopback), only
#: administrators (admin), or anyone (public: the metrics name dataflows, restricted ones too).
MetricsAccess = Literal["loopback", "admin", "public"]
METRICS_ACCESS: tuple[MetricsAccess, ...] = ("loopback", "admin", "public")
