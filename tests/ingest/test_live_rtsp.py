"""A live RTSP stream: a real RTSP server (Debian's ``rtsp-server-perl``) on 127.0.0.1, a PyAV
publisher pushing coloured frames to it in real time (ANNOUNCE/RECORD), and ``vagent index
rtsp://... --live`` playing it (DESCRIBE/PLAY) in its own process with the colour test encoder:
the first chunk is searchable while the push goes on, and the stream's chunks land in order."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO
from tests.ingest.test_live import _indexer, _item, _lines, _stop, _wait_landed
from vagent.library import Library

pytestmark = pytest.mark.slow  # a real-time stream: about 20 s

SERVER = "rtsp-server-perl"
COLOURS = ["red", "blue", "green"]
SECONDS_EACH = 4.0  # each colour is shown this long; the push lasts 12 s

# The publisher: prints "start" once the server took its ANNOUNCE/RECORD, then sends frames
# paced to the wall clock (10 fps, MPEG-4 with a keyframe every second).
PUSH = """
import sys, time
import av, numpy as np
from vagent.synth import COLORS
url, each, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
out = av.open(url, "w", format="rtsp")
s = out.add_stream("mpeg4", rate=10)
s.width, s.height, s.pix_fmt, s.gop_size = 64, 48, "yuv420p", 10
print("start", flush=True)
t0 = time.monotonic()
for i in range(int(each * 10 * len(names))):
    img = np.empty((48, 64, 3), np.uint8)
    img[:] = COLORS[names[int(i / 10 // each)]]
    frame = av.VideoFrame.from_ndarray(img, format="rgb24")
    frame.pts = i
    for p in s.encode(frame):
        out.mux(p)
    wait = t0 + (i + 1) / 10 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
for p in s.encode():
    out.mux(p)
out.close()
"""


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def rtsp_server() -> Iterator[tuple[int, int]]:
    """(port players use, port publishers use) of an RTSP server on 127.0.0.1, killed at the
    end; its RTP/UDP ports start at a free even port (no system config, no fixed ports)."""
    exe = shutil.which(SERVER)
    if exe is None:
        pytest.skip(f"{SERVER} not installed (Debian package rtsp-server-perl)")
    client, source = _free_port(), _free_port()
    rtp = _free_port(socket.SOCK_DGRAM) & ~1
    cmd = [exe, "--clientport", str(client), "--serverport", str(source)]
    cmd += ["--client_listen_address", "127.0.0.1", "--source_listen_address", "127.0.0.1"]
    cmd += ["--rtp_start_port", str(rtp), "--loglevel", "1"]
    server = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        if not (_listening(client) and _listening(source)):
            pytest.fail(f"{SERVER} did not listen on 127.0.0.1:{client}/{source}")
        yield client, source
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)


def test_rtsp_stream_is_searchable_while_it_plays(
    tmp_path: Path, rtsp_server: tuple[int, int], colour_plugin: None
) -> None:
    client, source = rtsp_server
    home = Path(os.environ["VAGENT_HOME"])
    url = f"rtsp://127.0.0.1:{client}/cam"
    push = [sys.executable, "-c", PUSH, f"rtsp://127.0.0.1:{source}/cam", str(SECONDS_EACH)]
    pusher = subprocess.Popen(
        [*push, *COLOURS],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    indexer = None
    try:
        assert pusher.stdout is not None
        assert pusher.stdout.readline().strip() == "start", pusher.communicate(timeout=10)
        started = time.monotonic()
        indexer = _indexer(home, url, "--stall", "3", "--retries", "0")
        out = _lines(indexer)
        first = _wait_landed(out, 1, timeout=20)
        # the first chunk is searchable while the stream still plays
        assert pusher.poll() is None, "the push ended before the first chunk landed"
        assert time.monotonic() - started < 3 * SECONDS_EACH
        assert any(x.startswith(f"live: {url}: landed 0.0-") for x in first), first
        hits = Library.open("cam").search("red", k=1)
        assert hits and hits[0].video == url and not hits[0].missing
        assert pusher.wait(timeout=30) == 0, pusher.communicate()[1]
        # the publisher has gone: no more data, the player stalls and the run ends in one line
        assert indexer.wait(timeout=30) == 1
        assert indexer.stderr is not None
        err = indexer.stderr.read()
        time.sleep(0.2)
        landed = first + list(out.queue)
    finally:
        _stop(pusher, *([indexer] if indexer is not None else []))
    assert err.strip().splitlines() == [
        f"error: {url}: stream lost (no data for 3 s); gave up after 0 retries"
    ], err
    landed = [x for x in landed if "landed" in x]
    row, times = _item(home)
    assert row.decode_strategy == "live" and row.path == url
    # chunks of 1 s at 2 fps: about the 12 s pushed, less the player's start
    assert len(landed) >= 8 and len(times) == row.sampled_frames >= 16
    assert row.duration >= 8.0
    assert np.all(np.diff(times) > 0)
    lib = Library.open("cam")
    starts = [lib.search(c, k=1)[0].start for c in COLOURS]  # each colour's scene, in order
    assert starts == sorted(starts) and len(set(starts)) == 3, starts


# A publisher for the TCP-only server below: MPEG-TS in RTP (payload type 33) sent to a UDP
# port on 127.0.0.1 in real time, the colours in turn (64x48, 10 fps, a keyframe every second).
PUSH_RTP = """
import sys, time
import av, numpy as np
from vagent.synth import COLORS
url, each, names = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
out = av.open(url, "w", format="rtp_mpegts")
s = out.add_stream("mpeg2video", rate=10)
s.width, s.height, s.pix_fmt, s.gop_size, s.codec_context.max_b_frames = 64, 48, "yuv420p", 10, 0
t0 = time.monotonic()
for i in range(int(each * 10 * len(names))):
    img = np.empty((48, 64, 3), np.uint8)
    img[:] = COLORS[names[int(i / 10 // each)]]
    frame = av.VideoFrame.from_ndarray(img, format="rgb24")
    frame.pts = i
    for p in s.encode(frame):
        out.mux(p)
    wait = t0 + (i + 1) / 10 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
out.close()
"""

SDP = (
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n"
)


class TcpOnlyRtsp:
    """An RTSP server on 127.0.0.1 that plays one stream with RTP interleaved in the RTSP
    connection only (RFC 2326 10.12): a SETUP asking for RTP over UDP is refused (461), as
    servers behind NAT or firewalls do. The RTP packets are those a publisher sends to ``udp``.
    ``transports``: the Transport header of every SETUP, in order."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.2)
        self.port, self.udp_port = self.listener.getsockname()[1], self.udp.getsockname()[1]
        self.transports: list[str] = []
        self.playing: socket.socket | None = None
        self.done = threading.Event()
        for target in (self._accept, self._relay):
            threading.Thread(target=target, daemon=True).start()

    def close(self) -> None:
        self.done.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _relay(self) -> None:  # each RTP packet to the playing client, framed as channel 0
        while not self.done.is_set():
            try:
                packet = self.udp.recv(65536)
            except TimeoutError:
                continue
            conn = self.playing
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(b"$\x00" + len(packet).to_bytes(2, "big") + packet)

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while not self.done.is_set():
                if buf.startswith(b"$"):  # the player's RTCP, interleaved: skipped
                    if len(buf) < 4 or len(buf) < 4 + int.from_bytes(buf[2:4], "big"):
                        buf += self._read(conn)
                        continue
                    buf = buf[4 + int.from_bytes(buf[2:4], "big") :]
                    continue
                if b"\r\n\r\n" not in buf:
                    more = self._read(conn)
                    if not more:
                        return
                    buf += more
                    continue
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                self._answer(conn, lines[0].split()[0], lines[0].split()[1], headers)

    @staticmethod
    def _read(conn: socket.socket) -> bytes:
        try:
            return conn.recv(65536)
        except OSError:
            return b""

    def _answer(self, conn: socket.socket, method: str, url: str, h: dict[str, str]) -> None:
        status, extra, body = "200 OK", "", ""
        if method == "OPTIONS":
            extra = "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n"
        elif method == "DESCRIBE":
            body = SDP
            extra = f"Content-Base: {url}/\r\nContent-Type: application/sdp\r\n"
        elif method == "SETUP":
            transport = h.get("Transport", "")
            self.transports.append(transport)
            if "TCP" not in transport.upper():
                status = "461 Unsupported Transport"
            else:
                extra = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 1\r\n"
        elif method == "PLAY":
            extra = "Session: 1\r\n"
        reply = f"RTSP/1.0 {status}\r\nCSeq: {h.get('CSeq', '0')}\r\n{extra}"
        reply += f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
        with contextlib.suppress(OSError):
            conn.sendall(reply.encode())
        if method == "PLAY":
            self.playing = conn


def test_rtsp_transport_tcp_plays_a_server_that_only_interleaves(
    tmp_path: Path, colour_plugin: None
) -> None:
    """A server that carries RTP only inside the RTSP connection: ``--rtsp-transport tcp`` asks
    for that in its first SETUP (no UDP attempt) and the stream is indexed, each colour's scene
    found in order; ``--rtsp-transport udp`` is refused by it: one line, nothing landed."""
    home = Path(os.environ["VAGENT_HOME"])
    server = TcpOnlyRtsp()
    url = f"rtsp://127.0.0.1:{server.port}/cam"
    pusher = None
    try:
        refused = _indexer(home, url, "--rtsp-transport", "udp", "--stall", "3", "--retries", "0")
        out, err = refused.communicate(timeout=60)
        assert refused.returncode == 2, (out, err)
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"error: {url}: cannot open stream"), err
        assert server.transports and all("TCP" not in t for t in server.transports)
        server.transports.clear()
        indexer = _indexer(home, url, "--rtsp-transport", "tcp", "--stall", "5", "--retries", "0")
        end = time.monotonic() + 30
        while server.playing is None and time.monotonic() < end:  # the player is waiting
            time.sleep(0.05)
        push = [sys.executable, "-c", PUSH_RTP, f"rtp://127.0.0.1:{server.udp_port}", "3"]
        pusher = subprocess.Popen([*push, *COLOURS], cwd=REPO, stderr=subprocess.PIPE, text=True)
        out, err = indexer.communicate(timeout=60)
        assert pusher.wait(timeout=30) == 0, pusher.communicate()[1]
    finally:
        _stop(*([pusher] if pusher is not None else []))
        server.close()
    assert server.transports and all("TCP" in t for t in server.transports), server.transports
    assert indexer.returncode == 1, err  # the publisher ended: the stream stalls, chunks landed
    assert err.strip().splitlines() == [
        f"error: {url}: stream lost (no data for 5 s); gave up after 0 retries"
    ], err
    row, times = _item(home)
    assert row.path == url and len(times) == row.sampled_frames >= 12
    assert np.all(np.diff(times) > 0)
    lib = Library.open("cam")
    starts = [lib.search(c, k=1)[0].start for c in COLOURS]  # each colour's scene, in order
    assert starts == sorted(starts) and len(set(starts)) == 3, starts
