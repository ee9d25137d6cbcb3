"""Organisation schemes: agencies, data providers, data consumers, metadata providers, each with
contacts.

sdmx1's Contact holds one telephone (a string); SDMX-JSON gives a list: several telephones are
kept as a list in the same attribute, as sdmx1's own type note allows for its other lists.
"""

from __future__ import annotations

from typing import Any

from sdmx.model import common, v30

from sdmx_server.registry.codec.base import get_objs, get_str, get_strs, istring, put_text, read_text
from sdmx_server.registry.codec.core import Decoder, Encoder, decodes, encodes
from sdmx_server.registry.codec.items import decode_scheme, encode_items


def _contacts(org: Any, out: dict, enc: Encoder) -> None:
    contacts = []
    for c in getattr(org, "contact", None) or ():
        d: dict[str, Any] = {}
        if getattr(c, "id", None):
            d["id"] = c.id
        put_text(d, "name", "names", c.name)
        put_text(d, "department", "departments", c.org_unit)
        put_text(d, "role", "roles", c.responsibility)
        phones = [c.telephone] if isinstance(c.telephone, str) else list(c.telephone or ())
        for key, values in (("telephones", phones), ("faxes", c.fax), ("x400s", c.x400), ("uris", c.uri),
                            ("emails", c.email)):
            values = [v for v in values or () if isinstance(v, str)]
            if values:
                d[key] = values
        contacts.append(d)
    if contacts:
        out["contacts"] = contacts


ORGANISATIONS = {
    common.AgencyScheme: "agencies", common.DataProviderScheme: "dataProviders",
    common.DataConsumerScheme: "dataConsumers", v30.MetadataProviderScheme: "metadataProviders",
}


@encodes(*ORGANISATIONS)
def _organisation_scheme(scheme: Any, out: dict, enc: Encoder) -> None:
    member = next(m for cls, m in ORGANISATIONS.items() if isinstance(scheme, cls))
    encode_items(scheme, out, enc, member, _contacts)


def _read_contacts(org: Any, o: dict, path: str, dec: Decoder) -> None:
    contacts = []
    for c, cpath in get_objs(o, "contacts", path):
        phones = get_strs(c, "telephones", cpath)
        contact = common.Contact(
            name=istring(read_text(c, "name", "names", cpath)),
            org_unit=istring(read_text(c, "department", "departments", cpath)),
            responsibility=istring(read_text(c, "role", "roles", cpath)),
            telephone=phones[0] if len(phones) == 1 else (phones or None),
            email=list(get_strs(c, "emails", cpath)), fax=list(get_strs(c, "faxes", cpath)),
            uri=list(get_strs(c, "uris", cpath)), x400=list(get_strs(c, "x400s", cpath)))
        contact_id = get_str(c, "id", cpath)
        if contact_id:
            contact.id = contact_id
        contacts.append(contact)
    org.contact = contacts


def _organisations(kind: str, cls: type, member: str, item_cls: type) -> None:
    @decodes(kind)
    def decode(obj: dict, path: str, dec: Decoder) -> Any:
        return decode_scheme(obj, path, dec, cls, member, item_cls, _read_contacts)


_organisations("agencyscheme", common.AgencyScheme, "agencies", common.Agency)
_organisations("dataproviderscheme", common.DataProviderScheme, "dataProviders", common.DataProvider)
_organisations("dataconsumerscheme", common.DataConsumerScheme, "dataConsumers", common.DataConsumer)
_organisations("metadataproviderscheme", v30.MetadataProviderScheme, "metadataProviders", v30.MetadataProvider)
