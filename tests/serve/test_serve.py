"""`vagent serve`'s HTTP API through the ASGI app (httpx): range requests, the token rule,
traversal, missing files, the same hits as `vagent search --json`, asks in a bounded pool."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.conftest import REPO, TINY_CLIP, free_port, invoke_cli, town_clips, uvicorn_thread
from vagent.cli import cli
from vagent.library import Library
from vagent.serve import create_app
from vagent.serve.media import Unsatisfiable, parse_range
from vagent.synth import make_video

TOKEN = "s3cret-token-for-tests-0123456789"


pytestmark = pytest.mark.usefixtures("colour_scripted")


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    d = town_clips(tmp_path / "clips")
    lib = Library.open(tmp_path / "lib")
    report = lib.index([d], encoder="colour", text="none", progress=False)
    assert len(report.indexed) == 2
    return lib


@pytest.fixture
def client(lib: Library) -> Iterator[TestClient]:
    app = create_app(lib.root, answerer="scripted")
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _vid(client: TestClient, name: str) -> int:
    return next(v["video_id"] for v in client.get("/api/videos").json() if v["name"] == name)


def test_search_hits_equal_the_cli_json(client: TestClient, lib: Library) -> None:
    res = CliRunner().invoke(cli, ["search", "blue", "-l", str(lib.root), "-k", "3", "--json"])
    assert res.exit_code == 0, res.output
    cli_hits = json.loads(res.stdout)
    api = client.get("/api/search", params={"q": "blue", "k": 3})
    assert api.status_code == 200
    assert api.json() == cli_hits
    ids = {v["path"]: v["video_id"] for v in client.get("/api/videos").json()}
    assert len(set(ids.values())) == 2
    assert all(h["video_id"] == ids[h["video"]] for h in api.json())  # the catalog's id


def test_range_requests(client: TestClient, lib: Library) -> None:
    vid = _vid(client, "street.mp4")
    data = (lib.root.parent / "clips" / "street.mp4").read_bytes()
    n = len(data)
    url = f"/api/videos/{vid}/media"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/mp4"
    first = client.get(url, headers={"Range": "bytes=0-0"})
    assert first.status_code == 206 and first.content == data[:1]
    assert first.headers["content-range"] == f"bytes 0-0/{n}"
    mid = client.get(url, headers={"Range": "bytes=100-1099"})
    assert mid.status_code == 206 and mid.content == data[100:1100]
    assert mid.headers["content-length"] == "1000"
    last = client.get(url, headers={"Range": f"bytes={n - 10}-"})
    assert last.status_code == 206 and last.content == data[-10:]
    assert last.headers["content-range"] == f"bytes {n - 10}-{n - 1}/{n}"
    suffix = client.get(url, headers={"Range": "bytes=-500"})
    assert suffix.status_code == 206 and suffix.content == data[-500:]
    past_end = client.get(url, headers={"Range": f"bytes={n + 5}-"})
    assert past_end.status_code == 416
    assert past_end.headers["content-range"] == f"bytes */{n}"
    assert "error" in past_end.json()
    head = client.head(url, headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and head.headers["content-length"] == "100"


def test_parse_range_edges() -> None:
    assert parse_range(None, 10) is None
    assert parse_range("bytes=2-100", 10) == (2, 9)  # clipped to the end
    assert parse_range("bytes=0-1,4-5", 10) is None  # several ranges: the whole file
    assert parse_range("items=0-1", 10) is None
    assert parse_range("bytes=-20", 10) == (0, 9)
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=-0", 10)
    with pytest.raises(Unsatisfiable):
        parse_range("bytes=10-", 10)


def test_only_catalog_videos_by_id(client: TestClient, lib: Library) -> None:
    for bad in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "1%2F..%2F..", "999999", "-1", "1e3"):
        r = client.get(f"/api/videos/{bad}/media")
        assert r.status_code == 404, bad
        assert set(r.json()) == {"error"}
    r = client.get("/api/videos/..%2F..%2F..%2Fetc%2Fpasswd/frame")
    assert r.status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_missing_source_file_and_removed_video(client: TestClient, lib: Library) -> None:
    vid = _vid(client, "field.mp4")
    (lib.root.parent / "clips" / "field.mp4").unlink()
    for route in ("media", "frame?t=1"):
        r = client.get(f"/api/videos/{vid}/{route}")
        assert r.status_code == 404
        assert r.json() == {"error": f"the source file of video {vid} is missing: field.mp4"}
    assert next(v for v in client.get("/api/videos").json() if v["video_id"] == vid)["missing"]
    street = _vid(client, "street.mp4")
    lib.remove(["street.mp4"])
    assert client.get(f"/api/videos/{street}/media").status_code == 404


def test_frame_is_a_jpeg_of_that_moment(client: TestClient) -> None:
    vid = _vid(client, "street.mp4")
    r = client.get(f"/api/videos/{vid}/frame", params={"t": 15})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content[:3] == b"\xff\xd8\xff"
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(r.content)).convert("RGB")
    red, _, blue = img.getpixel((img.width // 2, img.height // 2))
    assert blue > 150 and red < 100  # the blue half of the video
    assert client.get(f"/api/videos/{vid}/frame", params={"t": -1}).status_code == 422


def test_frames_are_decoded_by_the_decoder_recorded_for_the_video(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vagent.library import core

    d = town_clips(tmp_path / "clips")
    lib = Library.open(tmp_path / "lib")
    lib.index([d], encoder="colour", text="none", decoder="pyav/sequential", progress=False)
    used: list[str] = []
    real = core.Library.decoder

    def spy(self: Library, video: object = None) -> object:
        dec = real(self, video)  # type: ignore[arg-type]
        used.append(dec.id)
        return dec

    monkeypatch.setattr(core.Library, "decoder", spy)
    with TestClient(create_app(lib.root, answerer="scripted")) as c:
        vid = _vid(c, "street.mp4")
        assert c.get(f"/api/videos/{vid}/frame", params={"t": 15}).status_code == 200
    assert used == ["pyav/sequential"]


def test_token_rule(lib: Library) -> None:
    app = create_app(lib.root, token=TOKEN, load=False)
    with TestClient(app) as c:
        r = c.get("/api/videos")
        assert r.status_code == 401 and set(r.json()) == {"error"}
        assert c.get("/api/videos", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = c.get("/api/videos", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and len(ok.json()) == 2
        assert c.get("/").status_code == 200  # the page itself; it then sends the cookie
        c.get("/", params={"token": TOKEN})
        assert c.get("/api/videos").status_code == 200


def test_serve_refuses_other_hosts_without_a_token(lib: Library, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["serve", "-l", str(lib.root), "--host", "0.0.0.0"])
    assert res.exit_code == 2
    assert res.stderr.count("\n") == 1 and "--token-file" in res.stderr
    short = tmp_path / "tok"
    short.write_text("abc\n")
    res = CliRunner().invoke(
        cli, ["serve", "-l", str(lib.root), "--host", "0.0.0.0", "--token-file", str(short)]
    )
    assert res.exit_code == 2 and "at least 16 characters" in res.stderr
    res = CliRunner().invoke(cli, ["serve", "-l", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1


def test_errors_are_json_one_line_and_sizes_bounded(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "x" * 1001})
    assert r.status_code == 422 and set(r.json()) == {"error"}
    assert "\n" not in r.json()["error"]
    assert client.get("/api/search", params={"q": "red", "mode": "text"}).status_code == 400
    assert client.get("/api/search", params={"q": "   "}).status_code == 400
    big = client.post("/api/ask", content=b"{" + b" " * 70000 + b"}")
    assert big.status_code == 413 and set(big.json()) == {"error"}
    assert client.get("/api/nope").json() == {"error": "Not Found"}


def test_ask_stream_and_thread(client: TestClient) -> None:
    r = client.post("/api/ask", json={"question": "Which colour comes after red?"})
    assert r.status_code == 200
    out = r.json()
    assert {"answer", "citations", "thread_id", "trace"} <= set(out)
    assert all(isinstance(c["video_id"], int) for c in out["citations"])
    tid = out["thread_id"]
    with client.stream(
        "POST", "/api/ask/stream", json={"question": "and then?", "thread_id": tid}
    ) as s:
        text = "".join(s.iter_text())
    kinds = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    assert kinds[0] == "queued" and "progress" in kinds and kinds[-1] == "answer"
    turns = client.get(f"/api/threads/{tid}").json()["turns"]
    assert len(turns) == 2
    assert client.get("/api/threads/nobody-here").status_code == 404


def test_full_ask_queue_answers_503_while_search_goes_on(lib: Library) -> None:
    app = create_app(lib.root, answerer="scripted", ask_workers=1, ask_queue=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        svc = app.state.service
        release = threading.Event()
        started = threading.Event()

        def hold(agent: object) -> None:  # a long ask: holds the only worker
            started.set()
            release.wait(30)

        held = [svc.submit(hold, lambda *_: None), svc.submit(lambda a: None, lambda *_: None)]
        try:
            assert started.wait(30)
            r = c.post("/api/ask", json={"question": "again?"})
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert set(r.json()) == {"error"}
            s = c.post("/api/ask/stream", json={"question": "again?"})
            assert s.status_code == 503
            assert c.get("/api/search", params={"q": "red"}).status_code == 200
        finally:
            release.set()
        for f in held:
            f.result(30)
        assert c.post("/api/ask", json={"question": "now?"}).status_code == 200


def test_cors_off_unless_asked(lib: Library) -> None:
    pre = {"Origin": "http://other.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(lib.root, load=False)) as c:
        r = c.get("/api/videos", headers={"Origin": "http://other.example"})
        assert "access-control-allow-origin" not in r.headers
    with TestClient(create_app(lib.root, load=False, cors="http://app.example")) as c:
        ok = c.options("/api/search", headers={**pre, "Origin": "http://app.example"})
        assert ok.headers["access-control-allow-origin"] == "http://app.example"
        other = c.get("/api/videos", headers={"Origin": "http://other.example"})
        assert "access-control-allow-origin" not in other.headers


def test_searches_go_on_while_an_indexer_writes(client: TestClient, lib: Library) -> None:
    more = lib.root.parent / "more"
    more.mkdir()
    for i, first in enumerate(("yellow", "purple", "orange")):  # three different files
        make_video(more / f"m{i}.mp4", [first, "white"], 4.0, size=(160, 120))
    failures: list[str] = []
    done = threading.Event()

    def index() -> None:
        try:
            Library.open(lib.root).index([more], progress=False)
        except Exception as exc:  # reported below
            failures.append(repr(exc))
        finally:
            done.set()

    t = threading.Thread(target=index)
    t.start()
    n = 0
    while not done.is_set() or n < 5:
        r = client.get("/api/search", params={"q": "white", "k": 5})
        assert r.status_code == 200, r.text
        n += 1
    t.join()
    assert not failures
    assert len(client.get("/api/videos").json()) == 5
    hits = client.get("/api/search", params={"q": "white", "k": 50}).json()
    assert any(Path(h["video"]).name.startswith("m") for h in hits)


SERVE = """
import sys
from tests.plugins import colour
from vagent import plugins
plugins.add_plugin("testcolour", colour)
from vagent.cli import main
main(sys.argv[1:])
"""


@pytest.mark.slow  # a subprocess imports vagent and uvicorn (a few seconds)
def test_vagent_serve_starts_on_loopback_and_stops_on_sigterm(lib: Library) -> None:
    import signal
    import subprocess
    import sys
    import time

    import httpx

    port = free_port()
    root = REPO
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", "-l", str(lib.root), "--port", str(port)],
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": "red"})
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) in (0, -signal.SIGTERM)  # uvicorn re-raises it once it is done
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    assert "serve: models loaded in" in err and f"http://127.0.0.1:{port}/" in err
    assert err.rstrip().endswith("serve: stopped")  # the lifespan closed the library
    assert "Traceback" not in err


@pytest.mark.slow  # a real `vagent serve` process (it imports torch) and six short runs
def test_bench_serve_runs_and_reports_each_measure(tmp_path: Path) -> None:
    from vagent.bench.serve import describe

    d = town_clips(tmp_path / "clips", field=False)
    tiny = Library.open(tmp_path / "tiny")  # a built-in encoder: the server process loads it
    assert tiny.index([d], encoder=TINY_CLIP, text="none", progress=False).ok
    args = ("-l", str(tiny.root), "--requests", "6", "--clients", "2", "--seconds", "30")
    out, _ = invoke_cli("bench", "serve", *args, "--json")
    r = json.loads(out)
    assert r["videos"] == 1 and r["clients"] == [1, 2] and r["first_search_ms"] > 0
    for kind in ("search", "frame", "media"):
        runs = [r[kind][k] for k in ("in_process", "http_1", "http_2")]
        assert [x["n"] for x in runs] == [6, 6, 6], kind  # every request answered 200/206
        assert all(x["p95_ms"] >= x["p50_ms"] > 0 and "errors" not in x for x in runs), kind
        assert r[kind]["added_p50_ms"] is not None and r[kind]["scaling"] > 0
    size = (d / "street.mp4").stat().st_size
    assert r["media_file"]["bytes"] == size
    assert r["media"]["http_1"]["mb_s"] == pytest.approx(
        6 * size / 1e6 / (6 / r["media"]["http_1"]["per_s"]), rel=0.05
    )
    text = "\n".join(describe(r))
    assert "HTTP adds" in text and "target < 5 ms" in text and "target >= 1.6x" in text
    assert text.count("HTTP, 2 clients") == 3


def test_a_chunked_body_is_bounded_too(client: TestClient) -> None:
    def body(pad: int) -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"question": "Which colour comes after red?"'
        for _ in range(pad):
            yield b" " * 16384
        yield b"}"

    big = client.post("/api/ask", content=body(8), headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json() == {"error": "the request body is over 64 KiB"}
    assert big.headers["connection"] == "close"
    small = client.post("/api/ask", content=body(2), headers={"Content-Type": "application/json"})
    assert small.status_code == 200 and small.json()["answer"]


def test_an_endless_chunked_body_is_cut_off_over_real_http(lib: Library) -> None:
    import select
    import socket

    head = (
        b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
    with (
        uvicorn_thread(create_app(lib.root, load=False)) as port,
        socket.socket() as s,
    ):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(head + b"1\r\n{\r\n")
        sent, reply, ended = 0, b"", False
        while sent < 64 << 20 and not ended:  # a client that would send 64 MiB
            try:
                s.sendall(chunk)
                sent += len(chunk)
                while select.select([s], [], [], 0)[0]:
                    got = s.recv(65536)
                    reply += got
                    if not got:
                        ended = True
                        break
            except (BrokenPipeError, ConnectionResetError):
                ended = True
        with contextlib.suppress(OSError):
            while got := s.recv(65536):  # the rest of the answer, if it is still there
                reply += got
    # the server hung up soon after the bound (the kernel's buffers held a few MiB more)
    assert ended and sent < 16 << 20, sent
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"the request body is over 64 KiB" in reply


def test_thread_history_is_read_while_every_ask_worker_is_busy(lib: Library) -> None:
    import time

    app = create_app(lib.root, answerer="scripted", ask_workers=1, ask_queue=1)
    with TestClient(app, raise_server_exceptions=False) as c:
        svc = app.state.service
        first = c.post("/api/ask", json={"question": "Which colour comes after red?"}).json()
        tid = first["thread_id"]
        release, started = threading.Event(), threading.Event()

        def hold(agent: object) -> None:  # a long ask: holds the only worker
            started.set()
            release.wait(30)

        held = [svc.submit(hold, lambda *_: None), svc.submit(lambda a: None, lambda *_: None)]
        try:
            assert started.wait(30)
            assert c.post("/api/ask", json={"question": "more?"}).status_code == 503
            t0 = time.perf_counter()
            r = c.get(f"/api/threads/{tid}")
            assert r.status_code == 200, r.text
            assert time.perf_counter() - t0 < 5
            turns = r.json()["turns"]
            assert c.get("/api/threads/nobody-here").status_code == 404
        finally:
            release.set()
        for f in held:
            f.result(30)
        assert turns == svc.agent().history(tid)  # what the agent itself reads
        assert len(turns) == 1 and turns[0]["question"] == "Which colour comes after red?"


def test_index_from_the_server_inside_the_allowed_folders_only(
    lib: Library, tmp_path: Path
) -> None:
    import time

    allowed, private = tmp_path / "incoming", tmp_path / "private"
    allowed.mkdir()
    private.mkdir()
    make_video(allowed / "new.mp4", ["yellow", "white"], 4.0, size=(160, 120))
    (allowed / "notes.mp4").write_bytes(b"not a video at all")  # one line; the rest goes on
    make_video(private / "secret.mp4", ["purple"], 4.0, size=(160, 120))
    (allowed / "link.mp4").symlink_to(private / "secret.mp4")  # a way out of the folder
    lines: list[str] = []
    go = threading.Event()

    def heard(line: str) -> None:  # holds the job at its start until the test lets it go
        lines.append(line)
        go.wait(30)

    app = create_app(lib.root, load=False, allow_index=[allowed], on_index=heard)
    local = {"base_url": "http://127.0.0.1:8765", "client": ("127.0.0.1", 50000)}
    with TestClient(app, **local) as c:
        for bad in (str(private), "../private/secret.mp4", str(private / "secret.mp4")):
            r = c.post("/api/index", json={"paths": [bad]})
            assert r.status_code == 403 and "outside the folders" in r.json()["error"], bad
        rebound = c.post("/api/index", json={"paths": ["."]}, headers={"Host": "evil.example"})
        assert rebound.status_code == 403 and "only from this machine" in rebound.json()["error"]
        assert c.post("/api/index", json={"paths": []}).status_code == 422
        assert c.get("/api/index").json() == {"state": "idle"}  # nothing started, nothing read
        assert len(c.get("/api/videos").json()) == 2

        r = c.post("/api/index", json={"paths": ["."]})
        assert r.status_code == 202 and r.json()["state"] == "running"
        busy = c.post("/api/index", json={"paths": ["new.mp4"]})
        assert busy.status_code == 409 and "one at a time" in busy.json()["error"]
        go.set()
        deadline = time.monotonic() + 60
        while (s := c.get("/api/index").json())["state"] == "running":
            assert time.monotonic() < deadline, s
            time.sleep(0.1)
        assert s["state"] == "done" and s["error"] is None, s
        assert s["files"] == s["done"] == 2 and s["indexed"] == [str(allowed / "new.mp4")]
        why = {Path(f["path"]).name: f["reason"] for f in s["failed"]}
        assert set(why) == {"notes.mp4", "secret.mp4"} and "a link out" in why["secret.mp4"]
        assert all("\n" not in w for w in why.values())
        names = {v["name"] for v in c.get("/api/videos").json()}
        assert names == {"street.mp4", "field.mp4", "new.mp4"}
        hits = c.get("/api/search", params={"q": "yellow", "k": 1}).json()
        assert hits[0]["video"].endswith("new.mp4")
    assert any(line.startswith("index: 2/2") for line in lines)
    with TestClient(app, base_url="http://127.0.0.1:8765", client=("10.1.2.3", 5)) as c:
        r = c.get("/api/index")
        assert r.status_code == 403 and "only from this machine" in r.json()["error"]
    with TestClient(create_app(lib.root, load=False), **local) as c:
        r = c.post("/api/index", json={"paths": ["."]})
        assert r.status_code == 403 and "--allow-index" in r.json()["error"]
