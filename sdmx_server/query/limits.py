"""Query complexity limits: how much one URL may ask for, checked on the parsed query.

The URL's length is bounded (414 past `max_url_bytes`), but inside 8 KB a query can still name
thousands of codes, keys or filter values, each an SQL condition or a registry lookup. The
parsers (parse_v1, parse_v2, parse_data_v2) stay pure; the API calls `check_query` on what they
made, once per request, with the server's Settings:

- `max_query_keys`: keys of a data or availability query (REST v2 `,` between keys);
- `max_key_codes`: codes over all its keys (`+` between codes of a dimension);
- `max_filter_values`: conditions over all its `c[COMP]` filters (`,` OR and `+` AND);
- `max_list_items`: items of any id list (agencies, ids, versions, items, providers,
  references; `+` in REST v1, `,` in REST v2).

Past a limit: a 400 (QueryTooComplex) naming the limit, the count and what to do.
"""

from __future__ import annotations

from sdmx_server.errors import QueryTooComplex
from sdmx_server.settings import Settings
from sdmx_server.versions import AnyOf, Exactly

#: The list fields of the query model (query/model.py), with the names the URL gives them.
LIST_FIELDS = (("agencies", "agencyID"), ("ids", "resourceID"), ("items", "itemID"),
               ("providers", "providerID"), ("references", "references"))


def check_query(query, settings: Settings) -> None:
    """Raise QueryTooComplex when `query` (any query of query/model.py) is past a limit."""
    data = getattr(query, "data", None)  # an availability query holds its data query
    if data is not None:
        check_query(data, settings)
    for field, name in LIST_FIELDS:
        _at_most(len(getattr(query, field, None) or ()), settings.max_list_items, f"{name} lists", "items")
    _at_most(version_terms(getattr(query, "versions", None)), settings.max_list_items, "version lists", "versions")
    keys = getattr(query, "keys", None) or ()
    _at_most(len(keys), settings.max_query_keys, "the key", "keys")
    codes = sum(len(part) for key in keys for part in key if part)
    _at_most(codes, settings.max_key_codes, "the keys", "codes")
    conditions = sum(len(alternative) for f in getattr(query, "filters", None) or () for alternative in f.alternatives)
    _at_most(conditions, settings.max_filter_values, "the c[] filters", "values")


def version_terms(versions) -> int:
    """How many versions or version patterns a version query lists."""
    if isinstance(versions, Exactly):
        return len(versions.versions)
    if isinstance(versions, AnyOf):
        return sum(version_terms(term) for term in versions.terms)
    return 1 if versions is not None else 0


def _at_most(count: int, limit: int, where: str, what: str) -> None:
    if limit > 0 and count > limit:
        raise QueryTooComplex(
            f"{where} name {count:,} {what}; this server takes at most {limit:,} per query: "
            "split the query into several, or ask for all and filter")
