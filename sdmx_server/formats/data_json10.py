"""SDMX-JSON data 1.0.0 (SDMX 2.1): one `structure` for the message, every attribute's values
listed and referred to by index. Everything is data_json.DataWriter's; this module only says
that a message of several structures cannot be written."""

from __future__ import annotations

from sdmx_server.formats.data_json import DataWriter, check_one_structure

MEDIA_TYPE = "application/vnd.sdmx.data+json;version=1.0.0"


class Writer(DataWriter):
    def check(self) -> None:
        check_one_structure(self.parts, self.version)
