"""Live streams: UDP MPEG-TS served on 127.0.0.1 by a sender process the test starts, indexed by
``vagent index URL --live`` in its own process (the colour test encoder), killed and resumed,
reconnected after a loss, and a stalled stream ending in one line."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from vagent.bench.live import free_udp_port, start_sender
from vagent.catalog import FrameRow, VideoRow
from vagent.cli.live import parse_duration
from vagent.errors import BadNumber
from vagent.library import Library
from vagent.locking import write_lock

pytestmark = pytest.mark.slow  # real-time streams: seconds each

ROOT = Path(__file__).resolve().parents[1]
WITH_COLOUR = (
    "import sys; from tests.plugins import colour; from vagent import plugins; "
    "plugins.add_plugin('testcolour', colour); from vagent.cli import main; "
    "sys.argv[0] = 'vagent'; main()"
)


def _indexer(home: Path, url: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", WITH_COLOUR, "index", url, "--library", "cam", "--live"]
    cmd += ["--encoder", "colour", "--fps", "2", "--segment-seconds", "1", "--text", "none"]
    env = {**os.environ, "VAGENT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [*cmd, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            q.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return q


def _wait_landed(q: queue.Queue[str], n: int, timeout: float = 15.0) -> list[str]:
    got: list[str] = []
    end = time.monotonic() + timeout
    while sum("landed" in x for x in got) < n:
        got.append(q.get(timeout=max(0.1, end - time.monotonic())))
    return got


def _item(home: Path) -> tuple[VideoRow, np.ndarray]:
    os.environ["VAGENT_HOME"] = str(home)
    lib = Library.open("cam")
    with lib.catalog.session() as s:
        rows = s.scalars(select(VideoRow)).all()
        assert len(rows) == 1  # one library item, whatever the restarts
        times = np.array(
            s.scalars(
                select(FrameRow.time).where(FrameRow.video_id == rows[0].id).order_by(FrameRow.id)
            ).all()
        )
        s.expunge_all()
    lib.close()
    return rows[0], times


@pytest.fixture
def udp(tmp_path: Path) -> tuple[Path, int, str]:
    """The test's VAGENT_HOME (set by conftest), a free UDP port on loopback and its URL."""
    port = free_udp_port()
    return tmp_path / "home", port, f"udp://127.0.0.1:{port}"


def _stop(*procs: subprocess.Popen[str]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_killed_indexer_resumes_after_its_last_chunk(
    udp: tuple[Path, int, str], colour_plugin: None
) -> None:
    home, port, url = udp
    sender = start_sender(port, 30, ["red", "green", "blue", "yellow"])
    first = _indexer(home, url)
    try:
        lines = _wait_landed(_lines(first), 3)
        assert all(x.startswith(f"live: {url}: landed ") for x in lines if "landed" in x)
        first.send_signal(signal.SIGKILL)  # mid-chunk: the open chunk is lost, no more
        first.wait()
        row, times = _item(home)
        assert row.decode_strategy == "live" and row.path == url
        n1, d1 = len(times), row.duration
        assert n1 == row.sampled_frames >= 3 and d1 >= 1.0
        # searchable while the stream plays: the colour shown at the start ranks the item
        hits = Library.open("cam").search("red", k=1)
        assert hits and hits[0].video == url and not hits[0].missing  # a URL, not a lost file
        assert Library.open("cam").info()["videos"][0]["missing"] is False

        second = _indexer(home, url, "--for", "4")
        out, err = second.communicate(timeout=30)
        assert second.returncode == 0, err
        assert "Traceback" not in err
        assert "landed" in out and "chunks" in out
    finally:
        _stop(first, sender)
    row, times = _item(home)
    assert row.duration > d1 and len(times) == row.sampled_frames > n1
    assert np.all(np.diff(times) > 0)  # appended after the last chunk: no frame twice
    assert times[n1] >= d1 - 1e-6  # the resumed run starts after the committed end
    hits = Library.open("cam").search("yellow", k=1)
    assert hits and hits[0].video == url


def test_lost_stream_is_reported_and_reconnected(
    udp: tuple[Path, int, str], colour_plugin: None
) -> None:
    home, port, url = udp
    sender = start_sender(port, 4, ["red"])
    indexer = _indexer(home, url, "--for", "14", "--stall", "1", "--retries", "4")
    try:
        sender.wait(timeout=15)  # the stream goes away
        time.sleep(1.5)
        with write_lock(Library.open("cam").root):  # another writer holds the library
            sender = start_sender(port, 5, ["blue"])  # and the stream comes back
            time.sleep(3)
        _out, err = indexer.communicate(timeout=40)
    finally:
        _stop(indexer, sender)
    assert indexer.returncode == 0, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(x.startswith(f"warning: {url}: ") for x in lines), err
    assert any("reconnecting in" in x for x in lines)
    busy = [x for x in lines if "library busy" in x]
    assert len(busy) == 1 and "frames wait to land" in busy[0]
    row, times = _item(home)
    assert np.all(np.diff(times) > 0) and len(times) == row.sampled_frames
    hits = Library.open("cam").search("blue", k=1)  # from after the reconnect
    assert hits and hits[0].video == url
    blue = Library.open("cam").search("blue", k=1)[0].start
    red = Library.open("cam").search("red", k=1)[0].start
    assert blue > red


def test_stalled_stream_times_out_with_one_line(udp: tuple[Path, int, str]) -> None:
    home, port, url = udp
    sender = start_sender(port, 3, ["green"])
    try:
        indexer = _indexer(home, url, "--stall", "1", "--retries", "0")
        _out, err = indexer.communicate(timeout=30)
    finally:
        _stop(sender)
    assert indexer.returncode == 1
    assert err.strip().splitlines() == [
        f"error: {url}: stream lost (no data for 1 s); gave up after 0 retries"
    ], err
    row, times = _item(home)  # what was taken before the stall landed
    assert len(times) == row.sampled_frames > 0


def test_nothing_listening_times_out_with_one_line(udp: tuple[Path, int, str]) -> None:
    home, _port, url = udp
    indexer = _indexer(home, url, "--stall", "1", "--retries", "0")
    _out, err = indexer.communicate(timeout=30)
    assert indexer.returncode == 2  # nothing landed
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {url}: "), err
    assert "no data for 1 s" in lines[0] and "gave up after 0 retries" in lines[0]


def test_mpegts_over_http_lands_in_whole_aligned_chunks(tmp_path: Path) -> None:
    import av

    served = tmp_path / "served"
    served.mkdir()
    out = av.open(str(served / "cam.ts"), "w", format="mpegts")
    stream = out.add_stream("mpeg2video", rate=10)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    for i in range(60):  # 6 s at 10 fps: sampled frame times are sums of 0.1 s steps
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * i, np.uint8), "rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    port = free_udp_port()  # a free port number (TCP too, on loopback, in practice)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=served,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/cam.ts"
        for _ in range(50):  # until the server listens
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.1)
        extra = ("--fps", "1", "--segment-seconds", "2", "--stall", "2", "--retries", "0")
        indexer = _indexer(tmp_path / "home", url, *extra)
        out_text, err = indexer.communicate(timeout=30)
    finally:
        _stop(server)
    landed = [x.split("landed ")[1].split(" s")[0] for x in out_text.splitlines() if "landed" in x]
    assert landed == ["0.0-2.0", "2.0-4.0", "4.0-6.0"], out_text
    assert err.strip() == f"error: {url}: stream ended; gave up after 0 retries"
    assert indexer.returncode == 1


def test_stream_url_without_live_says_so(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from vagent.cli import cli

    url = "udp://127.0.0.1:9"
    result = CliRunner().invoke(cli, ["index", url, "--library", "x"])
    assert result.exit_code == 2
    assert f"{url} is a stream URL: index it with --live" in result.output
    assert not (tmp_path / "home" / "x").exists()  # nothing written
    result = CliRunner().invoke(cli, ["index", str(tmp_path), "--library", "x", "--for", "1h"])
    assert result.exit_code == 2 and "--for applies to --live only" in result.output


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("1h30m", 5400.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "2x", "-5", "1h 5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadNumber):
        parse_duration(text)
