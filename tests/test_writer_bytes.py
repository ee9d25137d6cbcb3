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
    'csv10': 'e550d8d001a4160f597beb3f24b5728d50fbc53d',
    'csv10-both-normalized': 'eabad07be7d5d31a31361fe91660162c044cc484',
    'csv20': '89153f06ed02cfa8b9413578416e31869351c1e4',
    'csv20-name-keys': '66f91e6675ee168ca0b847a1d9c5550c77e9809a',
    'csv21': '89153f06ed02cfa8b9413578416e31869351c1e4',
    'csv21-both-series': '178d6ad3ca0e97d0f36cc9a5652e45088a877b95',
    'csv21-obs-normalized': '55147747867469e968a5113a4a3c776bff241398',
    'csv21-dataonly': '525d87e3c85e361812a023f545c4f2b135ee5ee6',
    'csv21-nodata': 'e4b327f0903e3febda0a349abdd48913b10e9b3d',
    'csv21-nodata-name': '104698b3789dd901cbe9372b5da455ec5fc8c456',
    'csv21-serieskeysonly': '04c9c59361c646c31136dd58e2b3e8a948d988e5',
    'csv20-area': '298bf2ae79ac24d87335f2ce7946ed9eb7dbf79a',
    'specific': 'e6c77f73d743a562c330ec33e909b8cda38eaba3',
    'specific-ts': '116b53385508ead422811e428b0813e0aeb2fa8f',
    'specific-area': '3400c7cf16d68887b49572cdd0933ee5b1d00de2',
    'specific-all': 'bee5a57721d43bc82b2fcca7716c218528fc5f0c',
    'specific-nodata': 'a30ca504cbaf1e46ab76ee827be40e4a6f00f830',
    'specific-serieskeysonly': '8992f1ad6d36adebbb4d2b3184d35539e10906e1',
    'specific-dataonly': '83c8df6dbecab5cffa0bbbfffd8750cea539b636',
    'generic': '0971d6575477ecdfe59cd63c3a3b5a28feabb0e6',
    'generic-ts': 'a2e3c0659031f0cf490af0ca264ee218d7a7c0c7',
    'generic-area': 'dee6b779c932b0492c8a6798077be10abc80b1cd',
    'generic-all': 'f5c35c7049c4b692c989e10a5fd84bf4831a6975',
    'generic-nodata': '6386209cc291a1472462368a463495d56017fe32',
    'generic-serieskeysonly': '3f28daf2256f9fd6e4c515d0a2b513b8d0419d0b',
    'ml30': '2a6f4a9bed174553756771be5b8505818c709e45',
    'ml31-area': '74938bbd92205543c916d550fceab3b098c49f0c',
    'ml30-nodata': '8f38f9535db63920290862a6dede15c08481feb3',
    'json10': '5f6f47490abc480328070eb4e0d7a5a29b033e6a',
    'json20': 'feb52f9458aa5a728dbfe3caa1edcfbc1d35b747',
    'json21': 'fa3b61c3893a00669dae18668ebc8d73b96d915d',
    'json20-area': '5795e4f2afff7604c9616bc9af2f3b95e0487e24',
    'json20-all': 'e6ce019b86cb3617f5aac340fe4c1fce630d54fb',
    'json20-nodata': 'c7a4d63ec2ea993e693e6c14f8ac1e8fdcd966c0',
    'json20-serieskeysonly': '90d4d168846fc6fb48ddb6f38e339a02575b2c5d',
}


@lru_cache(maxsize=None)
def _frame():
    """tests.datasets.frame, long, with the measure's special values (NaN, which SDMX writes
    for a missing value, and both infinities) and missing attributes here and there."""
    df = frame(seed=6, months=600, quarters=200)
    df.loc[df.index % 97 == 5, "OBS_VALUE"] = float("nan")
    df.loc[df.index % 1013 == 7, "OBS_VALUE"] = float("inf")
    df.loc[df.index % 1511 == 9, "OBS_VALUE"] = float("-inf")
    df.loc[df.index % 89 == 3, "OBS_STATUS"] = ""
    df.loc[df.index % 5000 == 11, "OBS_VALUE"] = 1e22  # exponent notation
    return df


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
