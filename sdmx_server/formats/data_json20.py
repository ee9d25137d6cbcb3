"""SDMX-JSON data 2.0.0 (SDMX 3.0): `structures` (one per data set here, each data set names
its own), a `measures` object, SDMX 3.0 attribute relationships, and the values of non-coded
attributes and of the measure written inline (the guide makes `values` optional for them)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from sdmx_server.formats.data_json import DataWriter, Values
from sdmx_server.formats.data_message import DataSetPart

MEDIA_TYPE = "application/vnd.sdmx.data+json;version=2.0.0"
#: The schemas' pattern for a value's `id`; other values of non-coded dimensions use `value`.
_ID = re.compile(r"^[A-Za-z0-9_@$-]+$")


class Writer(DataWriter):
    version = "2.0.0"
    schema_url = "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/2.0.0/sdmx-json-data-schema.json"
    inline_text_attributes = True

    def check(self) -> None:
        pass  # each data set has its own structure

    def all_dictionaries(self) -> list[dict[str, Values]]:
        return [self.dictionaries(part) for part in self.parts]

    def dataset_head(self, position: int, part: DataSetPart) -> bytes:
        return b'{"structure":%d,' % position + super().dataset_head(position, part)[1:]

    def structures(self, dictionaries: list[dict[str, Values]]) -> bytes:
        return orjson.dumps({"structures": [self.structure(i, part, dictionaries[i])
                                            for i, part in enumerate(self.parts)]})

    def _structure(self, position: int, part: DataSetPart, values: dict[str, Values]) -> dict:
        out = super().structure(position, part, values)
        measure = part.shape.measure
        measures = {"observation": [self.component_head(part, measure.id)]} if part.layout.with_observations else {}
        ordered = {k: out[k] for k in ("links", "name") if k in out}
        if "names" in out:
            ordered["names"] = out["names"]
        ordered |= {"dimensions": out["dimensions"], "measures": measures, "attributes": out["attributes"],
                    "dataSets": [position]}
        return ordered

    def structure(self, position: int, part: DataSetPart, values: dict[str, Values]) -> dict:
        out = self._structure(position, part, values)
        # The schemas want values of every dimension listed: one that no row uses (the
        # observation dimension of series without observations) is left out.
        for level, dims in out["dimensions"].items():
            out["dimensions"][level] = [d for d in dims if d["values"]]
        return out

    def value(self, part: DataSetPart, component_id: str, value: Any) -> dict:
        if not part.shape.component(component_id).coded and not _ID.match(str(value)):
            return {"value": str(value)}
        return super().value(part, component_id, value)

    def attribute(self, part: DataSetPart, attribute_id: str, values: Values) -> dict:
        out = super().attribute(part, attribute_id, values)
        if not part.shape.component(attribute_id).coded or not out.get("values"):
            out.pop("values", None)  # written inline
        return out

    def relationship(self, part: DataSetPart, component) -> dict:
        if component.attachment == "dataset":
            return {"dataflow": {}}
        if component.attachment == "dimensions" and component.attach_dims:
            return {"dimensions": list(component.attach_dims)}
        return {"observation": {}}
