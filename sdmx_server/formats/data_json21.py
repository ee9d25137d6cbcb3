"""SDMX-JSON data 2.1.0 (SDMX 3.1): as 2.0.0, with the schema named by a root `$schema`
(`meta.schema` is deprecated there)."""

from __future__ import annotations

import orjson

from sdmx_server.formats import data_json20

MEDIA_TYPE = "application/vnd.sdmx.data+json;version=2.1.0"


class Writer(data_json20.Writer):
    version = "2.1.0"
    schema_url = "https://json.sdmx.org/2.1/sdmx-json-data-schema.json"

    def opening(self) -> bytes:
        return (b'{"$schema":' + orjson.dumps(self.schema_url) + b',"meta":' + orjson.dumps(self.meta())
                + b',"data":{"dataSets":[')

    def meta(self) -> dict:
        meta = super().meta()
        del meta["schema"]
        return meta
