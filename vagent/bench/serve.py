"""``vagent bench serve``: what HTTP costs on top of the library's own work.

A real ``vagent serve`` process on 127.0.0.1 (a free port) and clients in this process (httpx,
one keep-alive connection per client thread), 1 and N at once, each run bounded in count and
time. Three requests: ``/api/search`` (a new query each request: ``search_queries``, so no
cache of query vectors or hits can stand in for the work), ``/api/videos/ID/frame`` (times on a
0.1 s grid, so each is decoded, not served from the frame cache, until the grid wraps) and
``/api/videos/ID/media`` read in 1 MiB ranges as a player does. Each is set against its bound
measured in this run on the same library: the same call in this process without HTTP
(``Library.search``; the server's own frame path; the same byte ranges read from the file).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import numpy as np

from vagent.library import Library

QUERIES = [
    "a person talking",
    "red",
    "text on a slide",
    "how big is each step",
    "people outside",
    "blue sky",
    "a chart",
    "someone writing",
]
RANGE = 1 << 20  # bytes per media request, as a player reads
TARGET_OVERHEAD_MS = 5.0  # HTTP adds under this to search p50 (issue 13)
TARGET_SCALING = 1.6  # N clients get at least this times one client's throughput
START_SECONDS = 180.0  # the server must answer within this


@dataclass
class Config:
    library: str
    db: str | None = None
    clients: int = 8
    requests: int = 200  # per run (each client count, each request kind)
    seconds: float = 20.0  # per run, whichever comes first
    search_processes: int = 0  # the server's --search-processes (0: searches in threads)


Request = tuple[str, dict[str, str]]  # path and headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stats(ms: Sequence[float], wall: float, nbytes: int) -> dict[str, Any]:
    a = np.array(ms, np.float64)
    wall = max(wall, 1e-9)
    return {
        "n": len(ms),
        "p50_ms": round(float(np.percentile(a, 50)), 3) if len(ms) else None,
        "p95_ms": round(float(np.percentile(a, 95)), 3) if len(ms) else None,
        "per_s": round(len(ms) / wall, 2),
        "mb_s": round(nbytes / wall / 1e6, 2),
    }


@contextmanager
def server(
    library: str, db: str | None, port: int, search_processes: int = 0
) -> Iterator[dict[str, float]]:
    """``vagent serve`` in a child process, up and answering; stopped with SIGTERM after."""
    argv = [sys.executable, "-m", "vagent", "serve", "--library", library, "--port", str(port)]
    argv += ["--search-processes", str(search_processes)]
    if db:
        argv += ["--db", db]
    with tempfile.TemporaryFile(mode="w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, text=True)
        try:
            yield _wait_up(proc, log, f"http://127.0.0.1:{port}", t0)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def _wait_up(proc: subprocess.Popen[str], log: IO[str], base: str, t0: float) -> dict[str, float]:
    """Wait until the server answers; then time its first search."""
    import httpx

    while True:
        if proc.poll() is not None:
            log.seek(0)
            last = (log.read().strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"vagent serve exited with {proc.returncode}: {last}")
        try:
            if httpx.get(base + "/api/info", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.perf_counter() - t0 > START_SECONDS:
            raise RuntimeError(f"vagent serve did not answer within {START_SECONDS:.0f} s")
        time.sleep(0.1)
    up = time.perf_counter() - t0
    t1 = time.perf_counter()
    first = httpx.get(base + "/api/search", params={"q": QUERIES[0]}, timeout=60)
    first.raise_for_status()
    return {"up_s": up, "first_search_ms": (time.perf_counter() - t1) * 1000.0}


def over_http(base: str, requests: list[Request], clients: int, cfg: Config) -> dict[str, Any]:
    """``cfg.requests`` of ``requests`` (in order, cycling) from ``clients`` threads at once,
    each with its own connection; stops early at ``cfg.seconds``."""
    import httpx

    lock = threading.Lock()
    nxt = [0]
    ms: list[float] = []
    nbytes = [0]
    errors: list[str] = []
    deadline = time.perf_counter() + cfg.seconds

    def client() -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            while time.perf_counter() < deadline:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= cfg.requests:
                    return
                path, headers = requests[i % len(requests)]
                t0 = time.perf_counter()
                r = c.get(path, headers=headers)
                took = (time.perf_counter() - t0) * 1000.0
                with lock:
                    if r.status_code in (200, 206):
                        ms.append(took)
                        nbytes[0] += len(r.content)
                    elif len(errors) < 3:
                        errors.append(f"{path}: {r.status_code} {r.text[:120]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = _stats(ms, time.perf_counter() - t0, nbytes[0])
    out["clients"] = clients
    if errors:
        out["errors"] = errors
    return out


def in_process(calls: list[Callable[[], int]], cfg: Config) -> dict[str, Any]:
    """The bound: the same work called directly, one at a time (bytes each call returns)."""
    ms: list[float] = []
    nbytes = 0
    t_start = time.perf_counter()
    deadline = t_start + cfg.seconds
    for i in range(cfg.requests):
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        nbytes += calls[i % len(calls)]()
        ms.append((time.perf_counter() - t0) * 1000.0)
    return _stats(ms, time.perf_counter() - t_start, nbytes)


def _compare(bound: dict[str, Any], one: dict[str, Any], many: dict[str, Any]) -> dict[str, Any]:
    """The HTTP runs against the bound: added p50 ms, throughput ratios."""

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 3) if b else None

    added = None
    if one["p50_ms"] is not None and bound["p50_ms"] is not None:
        added = round(one["p50_ms"] - bound["p50_ms"], 3)
    return {
        "in_process": bound,
        "http_1": one,
        f"http_{many['clients']}": many,
        "added_p50_ms": added,
        "http_1_vs_in_process": ratio(one["per_s"], bound["per_s"]),
        "scaling": ratio(many["per_s"], one["per_s"]),
    }


def frame_times(videos: list[dict[str, Any]], start: int, count: int) -> list[tuple[int, float]]:
    """``count`` (video id, time) pairs from slot ``start`` of the videos' 0.1 s grids."""
    slots = [
        (v["video_id"], i / 10) for v in videos for i in range(max(int(v["duration"] * 10), 1))
    ]
    return [slots[(start + j) % len(slots)] for j in range(count)]


def search_queries(start: int, count: int) -> list[str]:
    """``count`` distinct queries from number ``start`` on: each of ``QUERIES`` with a number
    ("red 12"), so every request of every run is a query not seen before."""
    return [f"{QUERIES[j % len(QUERIES)]} {j // len(QUERIES)}" for j in range(start, start + count)]


def run(cfg: Config) -> dict[str, Any]:
    """Every measurement on ``cfg.library``; see the module docstring."""
    from vagent.serve.media import read_bytes
    from vagent.serve.service import Service
    from vagent.serve.threads import one_openmp_thread

    lib = Library.open(cfg.library, db=cfg.db)
    row = lib.settings()
    root = str(lib.root)
    svc = Service(Library.open(root, db=cfg.db))
    try:
        videos = [v for v in svc.videos() if not v["missing"] and v["resolution"] != "audio"]
        if not videos:
            raise RuntimeError(f"library '{lib.name}' has no video whose file is present")
        big = max(videos, key=lambda v: Path(v["path"]).stat().st_size)
        size = Path(big["path"]).stat().st_size
        spans = [(a, min(a + RANGE, size) - 1) for a in range(0, size, RANGE)]
        media = [
            (f"/api/videos/{big['video_id']}/media", {"Range": f"bytes={a}-{b}"}) for a, b in spans
        ]
        n = cfg.requests
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server(root, cfg.db, port, cfg.search_processes) as start:
            http: dict[str, dict[int, dict[str, Any]]] = {"search": {}, "frame": {}, "media": {}}
            for i, clients in enumerate((1, cfg.clients)):
                grid = frame_times(videos, i * n, n)  # new times each run: decoded, not cached
                frames: list[Request] = [(f"/api/videos/{v}/frame?t={t:.1f}", {}) for v, t in grid]
                searches: list[Request] = [
                    (f"/api/search?{urlencode({'q': q})}", {}) for q in search_queries(i * n, n)
                ]
                http["search"][clients] = over_http(base, searches, clients, cfg)
                http["frame"][clients] = over_http(base, frames, clients, cfg)
                http["media"][clients] = over_http(base, media, clients, cfg)
        # the bounds, after the server is gone (it does not compete with them)
        svc.load()
        rows = {v.id: v for v in svc.lib.videos()}

        def search_call(q: str) -> Callable[[], int]:
            return lambda: len(svc.lib.search(q, k=10))

        def frame_call(vid: int, t: float) -> Callable[[], int]:
            return lambda: len(svc.frame_jpeg(rows[vid], t))

        def media_call(a: int, b: int) -> Callable[[], int]:
            return lambda: sum(len(x) for x in read_bytes(Path(big["path"]), a, b))

        svc.search(QUERIES[0], k=10)  # as the server's first search: not timed
        one_openmp_thread()  # as a search worker after its first search (BLAS: svc.load)
        bounds = {
            "search": in_process([search_call(q) for q in search_queries(2 * n, n)], cfg),
            "frame": in_process([frame_call(v, t) for v, t in frame_times(videos, 0, n)], cfg),
            "media": in_process([media_call(a, b) for a, b in spans], cfg),
        }
    finally:
        svc.close()
        lib.close()
    many = cfg.clients
    out: dict[str, Any] = {
        "library": lib.name,
        "videos": len(videos),
        "encoder": row.encoder,
        "cpus": os.cpu_count(),
        "clients": [1, many],
        "search_processes": cfg.search_processes,
        "requests_per_run": n,
        "seconds_per_run": cfg.seconds,
        "server_up_s": round(start["up_s"], 3),
        "first_search_ms": round(start["first_search_ms"], 3),
        "media_file": {"name": Path(big["path"]).name, "bytes": size, "range_bytes": RANGE},
        "targets": {"added_search_p50_ms": TARGET_OVERHEAD_MS, "scaling": TARGET_SCALING},
    }
    for kind in ("search", "frame", "media"):
        out[kind] = _compare(bounds[kind], http[kind][1], http[kind][many])
    return out


def demo_library(folder: Path) -> str:
    """The quickstart's videos indexed (subtitles + OCR, the tiny random-weight encoder) in
    ``folder``; its path."""
    from vagent.bench.coldstart import ENCODER
    from vagent.demo import make_videos

    make_videos(folder / "videos")
    lib = Library.open(folder / "demo-library")
    report = lib.index(
        [str(folder / "videos")], encoder=ENCODER, text="subtitles,ocr", progress=False
    )
    lib.close()
    if report.failed:
        raise RuntimeError(f"{report.failed[0][0]}: {report.failed[0][1]}")
    return str(folder / "demo-library")


def describe(r: dict[str, Any]) -> list[str]:
    """The text report: one block per request kind."""
    many = r["clients"][1]

    def run_line(label: str, s: dict[str, Any], mb: bool) -> str:
        rate = f"{s['mb_s']:.1f} MB/s" if mb else f"{s['per_s']:.1f}/s"
        errs = f"  ({len(s['errors'])}+ errors: {s['errors'][0]})" if s.get("errors") else ""
        return (
            f"  {label:<16} p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, {rate} (n={s['n']}){errs}"
        )

    out = [
        f"serve bench: library '{r['library']}' ({r['videos']} videos, {r['encoder']}), "
        f"{r['cpus']} CPUs; server up in {r['server_up_s']:.1f} s, first search "
        f"{r['first_search_ms']:.0f} ms; searches in "
        + (f"{r['search_processes']} reader processes" if r.get("search_processes") else "threads")
    ]
    for kind, mb in (("search", False), ("frame", False), ("media", True)):
        c = r[kind]
        f = r["media_file"]
        what = {
            "search": "/api/search",
            "frame": "/api/videos/ID/frame (decoded)",
            "media": f"/api/videos/ID/media in {f['range_bytes'] >> 20} MiB ranges of "
            f"{f['name']} ({f['bytes']} bytes)",
        }[kind]
        out.append(f"{kind}: {what}")
        out.append(run_line("in-process", c["in_process"], mb))
        out.append(run_line("HTTP, 1 client", c["http_1"], mb))
        out.append(run_line(f"HTTP, {many} clients", c[f"http_{many}"], mb))
        verdict = f"  HTTP adds {c['added_p50_ms']} ms to p50"
        if kind == "search":
            t = r["targets"]["added_search_p50_ms"]
            ok = c["added_p50_ms"] is not None and c["added_p50_ms"] < t
            verdict += f" (target < {t:g} ms: {'met' if ok else 'MISSED'})"
        verdict += f"; 1 client gets {c['http_1_vs_in_process']}x in-process throughput"
        verdict += f"; {many} clients {c['scaling']}x one client"
        if kind == "search":
            ok = c["scaling"] is not None and c["scaling"] >= r["targets"]["scaling"]
            verdict += f" (target >= {r['targets']['scaling']:g}x: {'met' if ok else 'MISSED'})"
        out.append(verdict)
    return out
