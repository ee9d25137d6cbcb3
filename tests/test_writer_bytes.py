"""Byte identity of the data writers: speed work on the writers must not change one byte.

Every format and variant (CSV versions, labels, keys, timeFormat, details; SDMX-ML 2.1 generic
and structure-specific with their time-series variants, SDMX-ML 3.0/3.1, SDMX-JSON 1.0/2.0/2.1)
is written from one fixed data set (tests/datasets.frame, long enough for the kernels'
shortcuts: runs, distinct values) cut into batches of several sizes. The answer must be the
same whatever the batch size, and its sha1 must be the one recorded here, computed with the
writers as they were before the speed work (commit 9091f86). A writer change that moves a byte
fails here; when a change of output is wanted, the hash is updated in the same commit, saying why.
"""

from __future__ import annotations

import hashlib
import importlib
from datetime import datetime, timezone
from functools import lru_cache

import pytest

from sdmx_server.formats.data_message import DataMessage
from sdmx_server.formats.ml21 import Header
from tests import data_messages
from tests.datasets import frame

BATCH_SIZES = (7, 1000, 5000, 100_000)

#: name -> (module, write options, media-type parameters, dimensionAtObservation, detail)
CASES = {
    "csv10": ("data_csv", {"version": "1.0"}, {}, None, "full"),
    "csv10-both-normalized": ("data_csv", {"version": "1.0"}, {"labels": "both", "timeformat": "normalized"}, None, "full"),
    "csv20": ("data_csv", {"version": "2.0"}, {}, None, "full"),
    "csv20-name-keys": ("data_csv", {"version": "2.0"}, {"labels": "name", "keys": "both"}, None, "full"),
    "csv21": ("data_csv", {"version": "2.1"}, {}, None, "full"),
    "csv21-both-series": ("data_csv", {"version": "2.1"}, {"labels": "both", "keys": "series"}, None, "full"),
    "csv21-obs-normalized": ("data_csv", {"version": "2.1"}, {"keys": "obs", "timeformat": "normalized"}, None, "full"),
    "csv21-dataonly": ("data_csv", {"version": "2.1"}, {"keys": "both"}, None, "dataonly"),
    "csv21-nodata": ("data_csv", {"version": "2.1"}, {"keys": "both"}, None, "nodata"),
    "csv21-nodata-name": ("data_csv", {"version": "2.1"}, {"labels": "name"}, None, "nodata"),
    "csv21-serieskeysonly": ("data_csv", {"version": "2.1"}, {"labels": "both"}, None, "serieskeysonly"),
    "csv20-area": ("data_csv", {"version": "2.0"}, {"keys": "both"}, "AREA", "full"),
    "specific": ("data_specific_ml21", {}, {}, None, "full"),
    "specific-ts": ("data_specific_ml21", {"time_series": True}, {}, None, "full"),
    "specific-area": ("data_specific_ml21", {}, {}, "AREA", "full"),
    "specific-all": ("data_specific_ml21", {}, {}, "AllDimensions", "full"),
    "specific-nodata": ("data_specific_ml21", {}, {}, None, "nodata"),
    "specific-serieskeysonly": ("data_specific_ml21", {}, {}, None, "serieskeysonly"),
    "specific-dataonly": ("data_specific_ml21", {}, {}, None, "dataonly"),
    "generic": ("data_generic_ml21", {}, {}, None, "full"),
    "generic-ts": ("data_generic_ml21", {"time_series": True}, {}, None, "full"),
    "generic-area": ("data_generic_ml21", {}, {}, "AREA", "full"),
    "generic-all": ("data_generic_ml21", {}, {}, "AllDimensions", "full"),
    "generic-nodata": ("data_generic_ml21", {}, {}, None, "nodata"),
    "generic-serieskeysonly": ("data_generic_ml21", {}, {}, None, "serieskeysonly"),
    "ml30": ("data_ml30", {"version": "3.0.0"}, {}, None, "full"),
    "ml31-area": ("data_ml30", {"version": "3.1.0"}, {}, "AREA", "full"),
    "ml30-nodata": ("data_ml30", {"version": "3.0.0"}, {}, None, "nodata"),
    "json10": ("data_json", {"version": "1.0.0"}, {}, None, "full"),
    "json20": ("data_json", {"version": "2.0.0"}, {}, None, "full"),
    "json21": ("data_json", {"version": "2.1.0"}, {}, None, "full"),
    "json20-area": ("data_json", {"version": "2.0.0"}, {}, "AREA", "full"),
    "json20-all": ("data_json", {"version": "2.0.0"}, {}, "AllDimensions", "full"),
    "json20-nodata": ("data_json", {"version": "2.0.0"}, {}, None, "nodata"),
    "json20-serieskeysonly": ("data_json", {"version": "2.0.0"}, {}, None, "serieskeysonly"),
}

#: sha1 of each case's answer, from the writers before the speed work (see the docstring).
EXPECTED: dict[str, str] = {
    'csv10': '18cb9608f89d71abe2e465acbc98af4f3f65dfc8',
    'csv10-both-normalized': 'ba626ab3485aed4bc1f55270b901e45404bd28c0',
    'csv20': '5fa60a7e3fe4fd5d964897ba158897926c8adbbe',
    'csv20-name-keys': '5274a191beb2118d75f68030e6cddbe9cd06a749',
    'csv21': '5fa60a7e3fe4fd5d964897ba158897926c8adbbe',
    'csv21-both-series': 'e5beb0586224cb0775919438d629c7a92dcfb4c6',
    'csv21-obs-normalized': '033c08227b3d47b35c0e98fce8d91e8fdbd2b622',
    'csv21-dataonly': '417274d472fdc651bcf145c855f857f7921b4ed3',
    'csv21-nodata': 'e4b327f0903e3febda0a349abdd48913b10e9b3d',
    'csv21-nodata-name': '104698b3789dd901cbe9372b5da455ec5fc8c456',
    'csv21-serieskeysonly': '04c9c59361c646c31136dd58e2b3e8a948d988e5',
    'csv20-area': '4dba3751dd6ae7c18321b127df39bc5edd601db1',
    'specific': 'a971180c8bee17571ce8c70981084cabde3b687f',
    'specific-ts': '384126329e4c4e6c47cd59ebe402bd554bb7ed7f',
    'specific-area': '5a75e3e359ca1d4aaed05ad0ba91f4da5265864b',
    'specific-all': '0ac1bf476b0525d4df50c3e3dd7347844bf2ae1d',
    'specific-nodata': 'a30ca504cbaf1e46ab76ee827be40e4a6f00f830',
    'specific-serieskeysonly': '8992f1ad6d36adebbb4d2b3184d35539e10906e1',
    'specific-dataonly': 'a5d9b0359dc9f6f807cb768998884f757df1be68',
    'generic': 'ea4dad19d97f1dc91967bd7dcbe6d2b891045ee8',
    'generic-ts': 'f5d69dc324b879e8bdad62578a2b9a2ea0cb014d',
    'generic-area': '1cd616b5abdcba9c001138744b8b920bfc7ef948',
    'generic-all': '4c338db0758528361e3b6a81a4a428c15a12344b',
    'generic-nodata': '6386209cc291a1472462368a463495d56017fe32',
    'generic-serieskeysonly': '3f28daf2256f9fd6e4c515d0a2b513b8d0419d0b',
    'ml30': '9565c4e37f8e3fee20dbce79e1f2d07d01ffef0e',
    'ml31-area': '4b1a250c564eeaf49504092258575629952e95a0',
    'ml30-nodata': '8f38f9535db63920290862a6dede15c08481feb3',
    'json10': 'af4c2f8d3ec82e4c4ba69ce11bbe5cd3cf6e6717',
    'json20': '8cea4675e7763d231a97f8c8f1b656f67ed5eca9',
    'json21': '7253244d8bff916cae2a45c8d6d72fda9c87743a',
    'json20-area': 'c3da0b3a8eba48b49fcdd7e5cf36c2a83e4fddd0',
    'json20-all': 'ff6ba3027da72e5a3e4a079b7b019b6879e088e0',
    'json20-nodata': 'c7a4d63ec2ea993e693e6c14f8ac1e8fdcd966c0',
    'json20-serieskeysonly': '90d4d168846fc6fb48ddb6f38e339a02575b2c5d',
}


@lru_cache(maxsize=None)
def _frame():
    return frame(seed=6, months=600, quarters=200)


def answer(name: str, batch_rows: int) -> bytes:
    module, options, parameters, at, detail = CASES[name]
    part = data_messages.part(_frame(), dimension_at_observation=at, detail=detail, batch_rows=batch_rows)
    header = Header(sender="TEST", id="IREF0000000000000001", prepared=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    message = DataMessage(header, [part], languages=("en",), parameters=dict(parameters))
    write = importlib.import_module(f"sdmx_server.formats.{module}").write
    return b"".join(bytes(chunk) for chunk in write(message, **options))


def digest(name: str) -> str:
    """The one sha1 of the case's answer at every batch size (the test fails if they differ)."""
    digests = {size: hashlib.sha1(answer(name, size)).hexdigest() for size in BATCH_SIZES}
    assert len(set(digests.values())) == 1, f"{name}: the answer depends on the batch size: {digests}"
    return digests[BATCH_SIZES[0]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_writer_bytes_unchanged(name):
    assert digest(name) == EXPECTED[name]


if __name__ == "__main__":  # print the table of hashes (only to record a wanted change of output)
    for case in CASES:
        print(f"    {case!r}: {digest(case)!r},")
