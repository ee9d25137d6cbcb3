"""Benchmark of the structure registry at a large agency's size.

    python bench/bench_structures.py [--artefacts 2000] [--codes 200000] [--database-url URL]

Builds a registry from the real messages in the samples folder plus generated artefacts
(codelists up to 50,000 codes, concept schemes, DSDs, dataflows, category schemes and
categorisations; 2,000 artefacts and 200,000 codes in all by default), then measures, against
a real server over HTTP:
- server start: from launch to the first answered structure query (target < 5 s);
- structure query p50 over a mix of queries (target < 50 ms), and a DSD with
  references=all (target < 200 ms);
- a further codelist loaded by the CLI while two workers serve: time until every answer shows
  it (target < 2 s);
- the server's resident memory with that registry.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
MES = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
STR = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
COM = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SAMPLES = [
    "ECB_EXR/1/structure-full.xml", "ESTAT/GOV_10Q_GGNFA.xml", "ESTAT/apro_mk_cola-structure.xml",
    "SGR/common-structure.xml",
    "ECB/orgscheme.xml",
]


def _el(parent, ns, tag, **attrs):
    return etree.SubElement(parent, f"{{{ns}}}{tag}", {k: str(v) for k, v in attrs.items()})


def _names(el, text: str) -> None:
    for lang, value in (("en", text), ("fa", f"{text} (fa)")):
        _el(el, COM, "Name", **{XML_LANG: lang}).text = value


def _message() -> tuple[etree._Element, etree._Element]:
    root = etree.Element(f"{{{MES}}}Structure", nsmap={"mes": MES, "str": STR, "com": COM})
    header = _el(root, MES, "Header")
    _el(header, MES, "ID").text = "BENCH"
    _el(header, MES, "Test").text = "false"
    _el(header, MES, "Prepared").text = "2026-01-01T00:00:00"
    _el(header, MES, "Sender", id="BENCH")
    return root, _el(root, MES, "Structures")


def _ref(parent, tag, **attrs):
    holder = _el(parent, STR, tag)
    etree.SubElement(holder, "Ref", {k: str(v) for k, v in attrs.items()})
    return holder


def generated_structures(directory: Path, artefacts: int, codes: int) -> int:
    """SDMX-ML 2.1 messages of generated artefacts; returns how many artefacts."""
    rng = random.Random(7)
    groups = max(1, (artefacts - 2) // 5)  # each group: a codelist, concept scheme, DSD, dataflow, categorisation
    # Codelist sizes: a few large ones (up to 50,000), the rest small, `codes` in all.
    sizes = [50_000, 30_000, 20_000, 10_000] + [rng.randint(5, 300) for _ in range(groups - 4)]
    sizes = [max(2, s) for s in sizes]
    scale = codes / sum(sizes)
    sizes = [min(50_000, max(2, int(s * scale))) for s in sizes]
    count = 0
    per_file = 100
    for start in range(0, groups, per_file):
        root, structures = _message()
        # Containers in the order SDMX-ML 2.1's StructuresType wants them.
        holders = {name: _el(structures, STR, name)
                   for name in ("Dataflows", "CategorySchemes", "Categorisations", "Codelists", "Concepts", "DataStructures")}
        if start == 0:
            scheme = _el(holders["CategorySchemes"], STR, "CategoryScheme", id="THEMES", agencyID="BENCH", version="1.0")
            _names(scheme, "Themes")
            for t in range(10):
                _names(_el(scheme, STR, "Category", id=f"T{t}"), f"Theme {t}")
            count += 1
        for g in range(start, min(groups, start + per_file)):
            cl = _el(holders["Codelists"], STR, "Codelist", id=f"CL_G{g}", agencyID="BENCH", version="1.0")
            _names(cl, f"Codelist {g}")
            for c in range(sizes[g]):
                _names(_el(cl, STR, "Code", id=f"C{c}"), f"Code {c} of {g}")
            cs = _el(holders["Concepts"], STR, "ConceptScheme", id=f"CS_G{g}", agencyID="BENCH", version="1.0")
            _names(cs, f"Concepts {g}")
            for concept in ("FREQ", "DIM", "TIME_PERIOD", "OBS_VALUE"):
                _names(_el(cs, STR, "Concept", id=concept), concept)
            dsd = _el(holders["DataStructures"], STR, "DataStructure", id=f"DSD_G{g}", agencyID="BENCH", version="1.0")
            _names(dsd, f"DSD {g}")
            comps = _el(dsd, STR, "DataStructureComponents")
            dims = _el(comps, STR, "DimensionList", id="DimensionDescriptor")
            for position, (dim, cl_id) in enumerate((("FREQ", "CL_FREQ"), ("DIM", f"CL_G{g}")), start=1):
                d = _el(dims, STR, "Dimension", id=dim, position=position)
                _ref(d, "ConceptIdentity", id=dim, maintainableParentID=f"CS_G{g}", maintainableParentVersion="1.0",
                     agencyID="BENCH", package="conceptscheme", **{"class": "Concept"})
                rep = _el(d, STR, "LocalRepresentation")
                _ref(rep, "Enumeration", id=cl_id, version="1.0", agencyID="BENCH" if cl_id != "CL_FREQ" else "ECB",
                     package="codelist", **{"class": "Codelist"})
            t = _el(dims, STR, "TimeDimension", id="TIME_PERIOD", position=3)
            _ref(t, "ConceptIdentity", id="TIME_PERIOD", maintainableParentID=f"CS_G{g}",
                 maintainableParentVersion="1.0", agencyID="BENCH", package="conceptscheme", **{"class": "Concept"})
            _el(_el(t, STR, "LocalRepresentation"), STR, "TextFormat", textType="ObservationalTimePeriod")
            measures = _el(comps, STR, "MeasureList", id="MeasureDescriptor")
            m = _el(measures, STR, "PrimaryMeasure", id="OBS_VALUE")
            _ref(m, "ConceptIdentity", id="OBS_VALUE", maintainableParentID=f"CS_G{g}",
                 maintainableParentVersion="1.0", agencyID="BENCH", package="conceptscheme", **{"class": "Concept"})
            df = _el(holders["Dataflows"], STR, "Dataflow", id=f"DF_G{g}", agencyID="BENCH", version="1.0")
            _names(df, f"Dataflow {g}")
            _ref(df, "Structure", id=f"DSD_G{g}", version="1.0", agencyID="BENCH", package="datastructure",
                 **{"class": "DataStructure"})
            cat = _el(holders["Categorisations"], STR, "Categorisation", id=f"CAT_G{g}", agencyID="BENCH", version="1.0")
            _names(cat, f"Categorisation {g}")
            _ref(cat, "Source", id=f"DF_G{g}", version="1.0", agencyID="BENCH", package="datastructure",
                 **{"class": "Dataflow"})
            _ref(cat, "Target", id=f"T{g % 10}", maintainableParentID="THEMES", maintainableParentVersion="1.0",
                 agencyID="BENCH", package="categoryscheme", **{"class": "Category"})
            count += 5
        for name, holder in holders.items():
            if not len(holder):
                structures.remove(holder)
        etree.ElementTree(root).write(str(directory / f"generated-{start:05d}.xml"), xml_declaration=True,
                                      encoding="UTF-8")
    return count


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers)."""
    total = 0
    pids = [pid]
    for child in Path("/proc").iterdir():
        if child.name.isdigit():
            try:
                if f"PPid:\t{pid}\n" in (child / "status").read_text():
                    pids.append(int(child.name))
            except OSError:
                continue
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def start_server(env: dict, port: int, workers: int) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "sdmx_server.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/rest/dataflow/BENCH/DF_G1/1.0"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return server, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)


def timed(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    response.raise_for_status()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artefacts", type=int, default=2000)
    parser.add_argument("--codes", type=int, default=200_000)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    parser.add_argument("--samples", default=os.environ.get("SDMX_SAMPLES_DIR") or str(ROOT.parent / "shared" / "samples"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sdmx-bench-structures-") as tmp:
        tmp = Path(tmp)
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        env = {**os.environ, "SDMX_DATABASE_URL": url, "SDMX_DATA_DIR": str(tmp)}
        gen = tmp / "generated"
        gen.mkdir()
        generated = generated_structures(gen, args.artefacts - 40, args.codes)
        samples = [Path(args.samples) / s for s in SAMPLES if (Path(args.samples) / s).exists()]
        cli = [sys.executable, "-m", "sdmx_server.cli"]
        started = time.perf_counter()
        done = subprocess.run([*cli, "load-structures", "--allow-missing-references", *map(str, samples), str(gen)],
                              env=env, capture_output=True, text=True)
        load_seconds = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:])
            return 1
        loaded = int(done.stderr.strip().splitlines()[-1].split()[0])
        print(f"database: {url.split(':')[0]}; {loaded:,} artefacts loaded ({generated:,} generated, "
              f"{len(samples)} sample files) in {load_seconds:.1f} s")

        port = free_port()
        results = []
        server, start_seconds = start_server(env, port, workers=1)
        try:
            base = f"http://127.0.0.1:{port}/rest"
            rss_idle = tree_rss_mb(server.pid)
            mix = [
                f"{base}/dataflow/BENCH/DF_G{g}/1.0" for g in range(5, 300, 7)
            ] + [
                f"{base}/codelist/BENCH/CL_G{g}/1.0" for g in range(5, 300, 7)
            ] + [
                f"{base}/datastructure/BENCH/DSD_G{g}/1.0" for g in range(5, 300, 7)
            ] + [
                f"{base}/codelist/BENCH/CL_G0/1.0/C17", f"{base}/conceptscheme/BENCH/CS_G3/1.0",
                f"{base}/categoryscheme/BENCH/THEMES/1.0", f"{base}/dataflow?detail=allstubs",
            ]
            with httpx.Client(timeout=60) as client:
                for u in mix:  # first sight: models are built
                    timed(client, u)
                times = [timed(client, u) for u in mix for _ in range(3)]
                refs = [timed(client, f"{base}/datastructure/BENCH/DSD_G{g}/1.0?references=all") for g in range(10, 60)]
                big = timed(client, f"{base}/codelist/BENCH/CL_G0/1.0")
            rss = tree_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        results.append(("server start, to first answer", start_seconds, 5.0))
        results.append(("structure query p50", statistics.median(times), 0.050))
        results.append(("DSD references=all p50", statistics.median(refs), 0.200))

        # A change seen by every worker.
        server, _ = start_server(env, port, workers=2)
        try:
            extra = tmp / "extra.yaml"
            extra.write_text(
                "codelist:\n  id: CL_EXTRA\n  agency: BENCH\n  version: \"1.0\"\n  name: {fa: extra, en: extra}\n"
                "  codes:\n    - {id: A, name: {fa: a, en: a}}\n", encoding="utf-8",
            )
            done = subprocess.run([*cli, "load-structures", str(extra)], env=env, capture_output=True, text=True)
            committed = time.perf_counter()
            if done.returncode != 0:
                print(done.stdout, done.stderr)
                return 1
            seen_in_a_row = 0
            with httpx.Client(timeout=10) as client:
                while seen_in_a_row < 20:  # twenty answers in a row, from both workers
                    status = client.get(f"http://127.0.0.1:{port}/rest/codelist/BENCH/CL_EXTRA/1.0").status_code
                    seen_in_a_row = seen_in_a_row + 1 if status == 200 else 0
                    if time.perf_counter() - committed > 30:
                        break
                    time.sleep(0.01)
            visible = time.perf_counter() - committed
        finally:
            server.terminate()
            server.wait(timeout=30)
        results.append(("one more codelist visible to every worker", visible, 2.0))

    print(f"\n{'measure':48} {'value':>10} {'target':>10}")
    ok = True
    for label, seconds, target in results:
        passed = seconds < target
        ok &= passed
        print(f"{label:48} {seconds * 1000:8.0f} ms {target * 1000:7.0f} ms  {'PASS' if passed else 'FAIL'}")
    print(f"{'a 50,000-code codelist, whole':48} {big * 1000:8.0f} ms")
    print(f"\nserver RSS with the registry: {rss:.0f} MB after the queries ({rss_idle:.0f} MB just after start)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
