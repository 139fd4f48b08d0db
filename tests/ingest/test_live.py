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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from tests.conftest import REPO
from vagent.bench.live import free_udp_port, start_sender
from vagent.catalog import FrameRow, TextSpanRow, VideoRow
from vagent.cli.live import parse_duration
from vagent.errors import BadNumber
from vagent.library import Library
from vagent.locking import write_lock

pytestmark = pytest.mark.slow  # real-time streams: seconds each

ROOT = REPO
WITH_COLOUR = (
    "import sys; from tests.plugins import colour; from vagent import plugins; "
    "plugins.add_plugin('testcolour', colour); from vagent.cli import main; "
    "sys.argv[0] = 'vagent'; main()"
)
WITH_TONE = WITH_COLOUR.replace(
    "from vagent.cli import main;",
    "from tests.plugins import tone; plugins.add_plugin('testtone', tone); "
    "from vagent.cli import main;",
)


def _indexer(home: Path, url: str, *extra: str, script: str = WITH_COLOUR) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", script, "index", url, "--library", "cam", "--live"]
    cmd += ["--encoder", "colour", "--fps", "2", "--segment-seconds", "1", "--text", "none"]
    env = {**os.environ, "VAGENT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [*cmd, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _lines(proc: subprocess.Popen[str], err: bool = False) -> queue.Queue[str]:
    """The process's stdout (``err``: stderr) lines as they come."""
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        stream = proc.stderr if err else proc.stdout
        assert stream is not None
        for line in stream:
            q.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return q


def _wait_landed(q: queue.Queue[str], n: int, timeout: float = 90.0) -> list[str]:
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


@contextlib.contextmanager
def _http_folder(served: Path) -> Iterator[int]:
    """``served`` over HTTP on 127.0.0.1 (Python's http.server in a process), once it listens:
    yields the port, stops the server after."""
    port = free_udp_port()  # a free port number (TCP too, on loopback, in practice)
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=served,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):  # until the server listens
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            time.sleep(0.1)
        yield port
    finally:
        _stop(server)


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
    sender = start_sender(port, 60, ["red"])
    indexer = _indexer(home, url, "--stall", "1", "--retries", "4")
    out, err = _lines(indexer), _lines(indexer, err=True)
    warned: list[str] = []
    try:
        _wait_landed(out, 1)
        _stop(sender)  # the stream goes away
        warned.append(err.get(timeout=30))  # lost: reconnecting
        with write_lock(Library.open("cam").root):  # another writer holds the library
            sender = start_sender(port, 60, ["blue"])  # and the stream comes back
            while "library busy" not in warned[-1]:
                warned.append(err.get(timeout=60))
        _wait_landed(out, 1)  # what waited lands once the lock is free, and more after it
        indexer.send_signal(signal.SIGINT)  # the user stops it: the open chunk lands
        code = indexer.wait(timeout=60)
        time.sleep(0.2)
        assert code == 0, "".join(err.queue)
    finally:
        _stop(indexer, sender)
    lines = warned + list(err.queue)
    assert all(x.startswith(f"warning: {url}: ") for x in lines), lines
    assert "Traceback" not in "".join(lines)
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
    sender = start_sender(port, 60, ["green"])
    try:
        indexer = _indexer(home, url, "--stall", "1", "--retries", "0")
        _wait_landed(_lines(indexer), 1)
        sender.send_signal(signal.SIGSTOP)  # the sender hangs: no more data, no close
        assert indexer.wait(timeout=30) == 1
        assert indexer.stderr is not None
        err = indexer.stderr.read()
    finally:
        _stop(sender)
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
    with _http_folder(served) as port:
        url = f"http://127.0.0.1:{port}/cam.ts"
        extra = ("--fps", "1", "--segment-seconds", "2", "--stall", "2", "--retries", "0")
        indexer = _indexer(tmp_path / "home", url, *extra)
        out_text, err = indexer.communicate(timeout=30)
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


def test_rtsp_transport_applies_to_live_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from vagent.cli import cli

    args = ["index", str(tmp_path), "--library", "x", "--rtsp-transport", "tcp"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "--rtsp-transport applies to --live only" in result.output
    assert not (tmp_path / "home" / "x").exists()  # nothing written
    result = CliRunner().invoke(cli, [*args[:-1], "sctp"])
    assert result.exit_code == 2 and "'sctp' is not one of 'tcp', 'udp'" in result.output


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("1h30m", 5400.0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "2x", "-5", "1h 5"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadNumber):
        parse_duration(text)


def _ts_segment(path: Path, index: int, colour: str, fps: int = 10) -> None:
    """One second of ``colour`` as an MPEG-TS segment whose timestamps follow segment
    ``index - 1``'s (one stream cut in pieces, as an HLS packager writes it)."""
    import av

    from vagent.synth import COLORS

    out = av.open(str(path), "w", format="mpegts")
    stream = out.add_stream("mpeg2video", rate=fps)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    stream.codec_context.max_b_frames = 0
    image = np.zeros((48, 64, 3), np.uint8)
    image[:] = COLORS[colour]
    for i in range(fps):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = index * fps + i
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()


def _playlist(folder: Path, segments: int, ended: bool) -> None:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", "#EXT-X-MEDIA-SEQUENCE:0"]
    for k in range(segments):
        lines += ["#EXTINF:1.0,", f"seg{k}.ts"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    tmp = folder / "live.m3u8.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, folder / "live.m3u8")  # a reader never sees half a playlist


def test_growing_hls_playlist_is_indexed_live(tmp_path: Path, colour_plugin: None) -> None:
    """An HLS live event served over HTTP on 127.0.0.1: once the indexer has asked for the
    playlist, it grows by one 1 s MPEG-TS segment a second, and ends (#EXT-X-ENDLIST) two
    segments after the indexer's first chunk has landed: searchable while the event goes on."""
    import functools
    import http.server

    colours = ["red", "green", "blue", "yellow", "white", "purple"]
    served = tmp_path / "served"
    served.mkdir()
    for k in range(2):
        _ts_segment(served / f"seg{k}.ts", k, colours[k])
    _playlist(served, 2, ended=False)
    asked = threading.Event()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith(".m3u8"):
                asked.set()
            super().do_GET()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/live.m3u8"
    indexer = _indexer(tmp_path / "home", url, "--stall", "10", "--retries", "0")
    try:
        lines = _lines(indexer)
        assert asked.wait(timeout=90)
        got: list[str] = []
        k, ends = 2, None
        while k != ends:
            time.sleep(1.0)
            _ts_segment(served / f"seg{k}.ts", k, colours[k % len(colours)])
            with contextlib.suppress(queue.Empty):
                while True:
                    got.append(lines.get_nowait())
            if ends is None and (any("landed" in x for x in got) or k == 40):
                ends = k + 2  # two more segments after the first chunk landed
            k += 1
            _playlist(served, k, ended=k == ends)
        assert indexer.wait(timeout=60) == 1
        assert indexer.stderr is not None
        err = indexer.stderr.read()
    finally:
        _stop(indexer)
        server.shutdown()
    assert k < 40, "no chunk landed while the playlist grew"
    assert err.strip() == f"error: {url}: stream ended; gave up after 0 retries", err
    time.sleep(0.2)  # the pump thread reads the last lines
    landed = [x for x in got + list(lines.queue) if "landed" in x]
    assert landed[0].startswith(f"live: {url}: landed 0.0-1.0 s")
    row, times = _item(tmp_path / "home")
    assert np.all(np.diff(times) > 0) and len(times) == row.sampled_frames >= 2 * (k - 2)
    for i, colour in enumerate(colours[:4]):  # each segment at its own time in the item
        hits = Library.open("cam").search(colour, k=1)
        assert hits and hits[0].video == url and int(hits[0].start) % len(colours) == i, colour


def test_speech_of_each_chunk_goes_through_the_asr_kind(tmp_path: Path) -> None:
    """A stream with sound (MPEG-TS over HTTP: video, and MP2 audio loud from 2.5 to 3.5 s and
    from 4.5 to 5.5 s of 6 s): with --text speech --asr tone (a named test recogniser), each
    chunk's audio is heard and lands with it as speech spans at their times in the item."""
    import av

    rate, fps = 48000, 10
    served = tmp_path / "served"
    served.mkdir()
    out = av.open(str(served / "talk.ts"), "w", format="mpegts")
    video = out.add_stream("mpeg2video", rate=fps)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    audio = out.add_stream("mp2", rate=rate)
    audio.layout = "mono"
    t = np.arange(6 * rate) / rate
    loud = ((t >= 2.5) & (t < 3.5)) | ((t >= 4.5) & (t < 5.5))
    samples = (0.5 * np.sin(2 * np.pi * 440 * t) * loud).astype(np.float32)
    step = 1152  # samples per MP2 frame
    sent = 0
    for i in range(6 * fps):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 128, np.uint8), "rgb24")
        frame.pts = i
        for packet in video.encode(frame):
            out.mux(packet)
        while sent < min(len(samples), (i + 1) * rate // fps):
            piece = samples[sent : sent + step]
            sound = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="flt", layout="mono")
            sound.sample_rate, sound.pts = rate, sent
            for packet in audio.encode(sound):
                out.mux(packet)
            sent += len(piece)
    for stream in (video, audio):
        for packet in stream.encode():
            out.mux(packet)
    out.close()
    with _http_folder(served) as port:
        url = f"http://127.0.0.1:{port}/talk.ts"
        extra = ("--fps", "2", "--segment-seconds", "2", "--stall", "5", "--retries", "0")
        speech = ("--text", "speech", "--asr", "tone")
        indexer = _indexer(tmp_path / "home", url, *extra, *speech, script=WITH_TONE)
        out_text, err = indexer.communicate(timeout=120)
    assert indexer.returncode == 1, err
    assert err.strip().splitlines()[-1] == f"error: {url}: stream ended; gave up after 0 retries"
    assert out_text.count("landed") == 3, out_text
    os.environ["VAGENT_HOME"] = str(tmp_path / "home")
    lib = Library.open("cam")
    with lib.catalog.session() as s:
        said = s.execute(
            select(TextSpanRow.start, TextSpanRow.end, TextSpanRow.text, TextSpanRow.source)
        ).all()
    assert [(x.text, x.source) for x in said] == [("beep", "speech")] * 2, said
    # at their own times in the item (the first video frame is its 0 s)
    assert abs(said[0].start - 2.5) < 0.15 and abs(said[0].end - 3.5) < 0.15, said
    assert abs(said[1].start - 4.5) < 0.15 and abs(said[1].end - 5.5) < 0.15, said
    from vagent.integrity.check import check_library

    assert check_library(lib).problems == []  # every speech row has its vector


def test_on_screen_text_of_each_chunk_is_read_and_lands_with_it(
    tmp_path: Path, colour_plugin: None
) -> None:
    """A stream showing a line of text from 2.5 to 5 s of 6 s (MPEG-TS over HTTP): with --text
    ocr (rapidocr, as for files) each chunk's frames are read and the line lands with the chunks
    that show it, one span per chunk at its times in the item (cut at the 4-s chunk boundary),
    searchable and with its vector."""
    import av

    from vagent.synth import draw_text

    fps, size = 10, (480, 270)
    served = tmp_path / "served"
    served.mkdir()
    grey = np.full((size[1], size[0], 3), 90, np.uint8)
    shown = draw_text(grey, ["PURPLE ELEPHANT 4721"])
    out = av.open(str(served / "slide.ts"), "w", format="mpegts")
    video = out.add_stream("mpeg2video", rate=fps)
    video.width, video.height, video.pix_fmt = *size, "yuv420p"
    video.bit_rate = 4_000_000
    for i in range(6 * fps):
        img = shown if 2.5 <= i / fps < 5.0 else grey
        frame = av.VideoFrame.from_ndarray(img, "rgb24")
        frame.pts = i
        for packet in video.encode(frame):
            out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    out.close()
    with _http_folder(served) as port:
        url = f"http://127.0.0.1:{port}/slide.ts"
        extra = ("--fps", "2", "--segment-seconds", "2", "--stall", "5", "--retries", "0")
        indexer = _indexer(tmp_path / "home", url, *extra, "--text", "ocr")
        out_text, err = indexer.communicate(timeout=180)
    assert indexer.returncode == 1, err
    assert out_text.count("landed") == 3, out_text
    os.environ["VAGENT_HOME"] = str(tmp_path / "home")
    lib = Library.open("cam")
    with lib.catalog.session() as s:
        seen = s.execute(
            select(
                TextSpanRow.start, TextSpanRow.end, TextSpanRow.text, TextSpanRow.source
            ).order_by(TextSpanRow.start)
        ).all()
    assert [x.source for x in seen] == ["ocr"] * 2, seen
    assert all("ELEPHANT" in x.text.upper() for x in seen), seen
    assert np.allclose([(x.start, x.end) for x in seen], [(2.5, 4.0), (4.0, 5.0)]), seen
    hits = lib.search("PURPLE ELEPHANT", k=1, mode="text")
    assert hits and 2.0 <= hits[0].start < 5.0, hits
    from vagent.integrity.check import check_library

    assert check_library(lib).problems == []  # every on-screen text row has its vector
