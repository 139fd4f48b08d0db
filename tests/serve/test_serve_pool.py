"""The server's searches side by side (one shared library, each search on its own catalog
snapshot and generation) and its index job (one ``Library.index`` call, stopped cleanly)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import town_clips, using_plugins, uvicorn_thread
from tests.plugins import gate
from tests.plugins.gate import GATE
from vagent.library import Library
from vagent.serve import create_app
from vagent.serve.jobs import IndexJobs
from vagent.serve.service import Busy, Service
from vagent.serve.threads import SWITCH_INTERVAL
from vagent.synth import make_video


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    """street.mp4 (red, blue) and field.mp4 (green), indexed with the gated colour encoder."""
    GATE.reset()
    with using_plugins(gate):
        lib = Library.open(tmp_path / "lib")
        report = lib.index([town_clips(tmp_path / "clips")], encoder="gate", text="none",
                           progress=False)  # fmt: skip
        assert len(report.indexed) == 2
        yield lib
        GATE.opened.set()  # nothing stays held after a failed test


def test_searches_run_side_by_side_over_http(lib: Library) -> None:
    app = create_app(lib.root)
    with uvicorn_thread(app) as port:
        base = f"http://127.0.0.1:{port}"
        first = httpx.get(f"{base}/api/search", params={"q": "red"}, timeout=60)
        assert first.status_code == 200  # the first search runs alone (it may load models)
        got: dict[int, httpx.Response] = {}

        def search(i: int) -> None:
            got[i] = httpx.get(f"{base}/api/search", params={"q": "red hold", "k": 3}, timeout=60)

        clients = [threading.Thread(target=search, args=(i,)) for i in range(2)]
        for t in clients:
            t.start()
        try:
            both = GATE.arrivals(2, timeout=10)  # two searches inside the encoder at once
        finally:
            GATE.opened.set()
        for t in clients:
            t.join(60)
        assert both, "the second search waited for the first to finish"
        for r in got.values():
            assert r.status_code == 200, r.text
            assert Path(r.json()[0]["video"]).name == "street.mp4"
        assert r.json() == first.json()[:3]


def test_a_full_search_queue_is_busy(lib: Library) -> None:
    svc = Service(Library.open(lib.root), search_workers=1, search_queue=1)
    try:
        svc.search("red")
        held = svc.submit_search("red hold")
        assert GATE.arrivals(1, timeout=10)
        queued = svc.submit_search("blue")
        with pytest.raises(Busy):
            svc.submit_search("green")
        GATE.opened.set()
        assert Path(held.result(30)[0]["video"]).name == "street.mp4"
        assert Path(queued.result(30)[0]["video"]).name == "street.mp4"
        assert Path(svc.submit_search("green").result(30)[0]["video"]).name == "field.mp4"
    finally:
        GATE.opened.set()
        svc.close()


def test_a_server_hands_pythons_lock_over_sooner_and_puts_the_interval_back(
    lib: Library,
) -> None:
    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL  # Python's default, 5 ms
    svc = Service(Library.open(lib.root))
    try:
        svc.load()
        # the encoder's turns between its products no longer wait 5 ms behind other searches
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        assert Path(svc.submit_search("red").result(30)[0]["video"]).name == "street.mp4"
    finally:
        GATE.opened.set()
        svc.close()
    assert sys.getswitchinterval() == before


def test_a_search_keeps_its_generation_while_another_loads_the_next(lib: Library) -> None:
    shared = Library.open(lib.root)  # one library, as the server's searches share it
    before = [h.to_dict() for h in shared.search("green", k=5)]
    assert Path(before[0]["video"]).name == "field.mp4"
    got: list[object] = []

    def held_search() -> None:  # took its snapshot before the removal; held at the encoder
        try:
            got.append(shared.search("green hold", k=5))
        except Exception as exc:  # reported below
            got.append(exc)

    t = threading.Thread(target=held_search)
    t.start()
    try:
        assert GATE.arrivals(1, timeout=10)
        assert Library.open(lib.root).remove(["field.mp4"])  # a new generation without it
        now = shared.search("green", k=5)  # loads the new generation beside the held one
        assert {Path(h.video).name for h in now} == {"street.mp4"}
    finally:
        GATE.opened.set()
    t.join(30)
    (old,) = got
    assert isinstance(old, list), old
    assert [h.to_dict() for h in old] == before  # its own generation's vectors, not the new


def test_index_job_is_one_run_with_progress_per_file_and_stops_after_the_file_in_progress(
    lib: Library, tmp_path: Path
) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for name, colour in (("a.mp4", "yellow"), ("b.mp4", "purple"), ("c.mp4", "orange")):
        make_video(incoming / name, [colour], 4.0, size=(160, 120))
    lines: list[str] = []
    jobs = IndexJobs(lib.root, None, [incoming], on_event=lines.append)
    GATE.frames = True  # the first file's frames wait at the gate
    jobs.start(["."])
    closer = threading.Thread(target=jobs.close)
    try:
        assert GATE.arrivals(1, timeout=60)
        assert jobs.status()["current"] == "a.mp4"
        closer.start()
        closer.join(1.5)
        assert closer.is_alive()  # shutdown waits for the file in progress
    finally:
        GATE.frames = False
        GATE.opened.set()
    closer.join(60)
    assert not closer.is_alive()
    s = jobs.status()
    assert s["state"] == "stopped" and s["files"] == 3 and s["done"] == 1, s
    assert s["indexed"] == [str(incoming / "a.mp4")] and s["current"] is None
    names = {Path(v.path).name for v in Library.open(lib.root).videos()}
    assert names == {"street.mp4", "field.mp4", "a.mp4"}  # a.mp4 landed whole; b, c not read
    assert "index: 1/3 a.mp4 done" in lines
    assert any(line.startswith("index: stopping after a.mp4") for line in lines)


@pytest.mark.slow  # two reader processes each import torch and open_clip (seconds)
def test_searches_in_reader_processes_equal_the_library_and_follow_a_writer(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import TINY_CLIP

    lib = Library.open(tmp_path / "lib")  # installed plugins only: readers are spawned
    assert lib.index([town_clips(tmp_path / "clips")], encoder=TINY_CLIP, text="none",
                     progress=False).ok  # fmt: skip
    app = create_app(lib.root, search_processes=2)
    with TestClient(app, raise_server_exceptions=False) as c:
        svc = app.state.service
        assert svc.readers is not None and svc.readers.n == 2
        for q in ("a red street", "green grass"):
            got = c.get("/api/search", params={"q": q, "k": 3})
            assert got.status_code == 200, got.text
            assert got.json() == [h.to_dict() for h in lib.search(q, k=3)]
        bad = c.get("/api/search", params={"q": "red", "mode": "text"})  # an error crosses back
        assert bad.status_code == 400 and "no text track" in bad.json()["error"]
        make_video(tmp_path / "new.mp4", ["yellow"], 4.0, size=(160, 120))
        assert Library.open(lib.root).index([tmp_path / "new.mp4"], progress=False).indexed
        for _ in range(4):  # each reader reads the new generation
            hits = c.get("/api/search", params={"q": "yellow", "k": 10}).json()
            assert "new.mp4" in {Path(h["video"]).name for h in hits}
