"""A live stream served on 127.0.0.1, and the delay from a frame being sent to being searchable.

``python -m vagent.bench.live PORT SECONDS [COLOURS...]`` sends UDP MPEG-TS (MPEG-2 video) to
``udp://127.0.0.1:PORT`` in real time: each colour of ``vagent.synth.COLORS`` held for
``HOLD`` seconds, in turn, for SECONDS seconds; it prints ``start <wall time>`` once the first
frame is sent. ``measure`` indexes such a stream live in this process and reports, for every
sampled frame, the time from it being sent to its chunk having landed (p50, p95).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np

from vagent.synth import COLORS

HOLD = 2.0  # seconds each colour is shown
SEND_FPS = 10
SIZE = (64, 48)


def send(port: int, seconds: float, colours: list[str]) -> None:
    """Send ``seconds`` of video to udp://127.0.0.1:``port`` at the pace it plays."""
    import av

    out = av.open(f"udp://127.0.0.1:{port}?pkt_size=1316", "w", format="mpegts")
    stream = out.add_stream("mpeg2video", rate=SEND_FPS)
    stream.width, stream.height = SIZE
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = SEND_FPS // 2
    stream.codec_context.max_b_frames = 0
    img = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    t0 = time.time()
    print(f"start {t0:.6f}", flush=True)
    n = int(seconds * SEND_FPS)
    for i in range(n):
        img[:] = COLORS[colours[int(i / SEND_FPS / HOLD) % len(colours)]]
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = i
        for packet in stream.encode(frame):
            out.mux(packet)
        lag = t0 + (i + 1) / SEND_FPS - time.time()
        if lag > 0:
            time.sleep(lag)
    for packet in stream.encode():
        out.mux(packet)
    out.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_sender(port: int, seconds: float, colours: list[str]) -> subprocess.Popen[str]:
    """The sender in its own process (stdout: its ``start`` line)."""
    cmd = [sys.executable, "-m", "vagent.bench.live", str(port), str(seconds), *colours]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def measure(
    seconds: float = 20.0, encoder: str = "openclip/vagent-tiny-vit/random", chunk: float = 2.0
) -> dict[str, Any]:
    """Send ``seconds`` of stream, index it live (fps 2, segments of ``chunk`` seconds) and
    report the send-to-searchable delay of every sampled frame: p50, p95, max (seconds)."""
    from vagent.cli.live import index_live
    from vagent.library import LibrarySpec

    port = free_udp_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_sender(port, seconds + 120, list(COLORS))  # killed when done
        try:
            assert proc.stdout is not None
            start = float(proc.stdout.readline().split()[1])
            setup = LibrarySpec(encoder=encoder, fps=2.0, segment_seconds=chunk, text="none")
            report = index_live(
                str(Path(tmp) / "lib"),
                None,
                (f"udp://127.0.0.1:{port}",),
                for_text=str(seconds),
                stall=5.0,
                retries=0,
                as_json=False,
                setup=setup,
                quiet=True,
                measure=True,
            )
        finally:
            proc.kill()
            proc.wait()
    # frame times in the stream are its send times after ``start`` (the sender paces them), so
    # item time t was sent at start + first_raw + t (resumed_at is 0: a fresh library)
    walls = report.commit_walls
    if not walls or report.first_raw is None:
        return {"frames": 0}
    delays = [wall - (start + report.first_raw + t) for t, wall in walls]
    return {
        "frames": len(delays),
        "chunks": report.chunks,
        "chunk_seconds": chunk,
        "p50_s": round(percentile(delays, 50), 3),
        "p95_s": round(percentile(delays, 95), 3),
        "max_s": round(max(delays), 3),
        "target_p95_s": 2 * chunk + 5,
    }


if __name__ == "__main__":
    send(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:] or list(COLORS))


def _synthetic(frames: int, fps: float) -> Any:
    """A frame source for LiveIndexer: ``frames`` tiny frames, one every 1/``fps`` s of stream
    time, as fast as they can be made, changing colour each second; then the stream ends."""
    import av

    from vagent.ingest.live import StreamLost

    colours = list(COLORS.values())

    def source(_url: str, _stall: float) -> Any:
        img = np.zeros((32, 32, 3), np.uint8)
        for i in range(frames):
            img[:] = colours[int(i / fps) % len(colours)]
            yield i / fps, av.VideoFrame.from_ndarray(img, format="rgb24")
        raise StreamLost("stream ended")

    return source


class _Pixels:
    """The long-stream benchmark's stand-in encoder: a fixed random projection of 8x8 pixels
    to the library's width (the library's own model would dominate the time measured; this
    measures landing chunks, not encoding them)."""

    def __init__(self, dim: int) -> None:
        self.dim, self.input_size = dim, 8
        self.matrix = np.random.default_rng(0).standard_normal((8 * 8 * 3, dim), np.float32)

    def encode_images(self, images: np.ndarray) -> np.ndarray:
        flat = images[:, :8, :8].reshape(len(images), -1).astype(np.float32) / 255.0
        out: np.ndarray = (flat - 0.5) @ self.matrix
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


def long_stream(
    chunks: int = 2000,
    append: bool = True,
    encoder: str = "openclip/vagent-tiny-vit/random",
    chunk: float = 1.0,
    fps: float = 2.0,
) -> dict[str, Any]:
    """Land ``chunks`` chunks of a simulated stream (frames made in memory, no real-time pace)
    into a fresh library, then read it back. Reports the commit time (ms) of the first and the
    last tenth of the chunks (median, p95), the resident memory added per chunk over the second
    half (KiB; the steady state) and in all since the first tenth (merges' peaks included), the
    resident memory (median) over the first and the last tenth of the chunks (and each tenth),
    then checks the library (``vagent check``: every row has its vector, checksums, ids). Frames
    are encoded by ``_Pixels``."""
    from vagent.components import VisualEncoder
    from vagent.errors import BadVideo
    from vagent.ingest.live import LiveIndexer, LiveOptions, rss_kb
    from vagent.integrity.check import check_library
    from vagent.library import Library, LibrarySpec
    from vagent.locking import write_lock

    url = "udp://127.0.0.1:9"  # named only: the frames come from _synthetic
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library.open(str(Path(tmp) / "lib"))
        spec = LibrarySpec(encoder=encoder, fps=fps, segment_seconds=chunk, text="none")
        with write_lock(lib.root):
            run = lib._index_locked(spec)
        opts = LiveOptions(fps=fps, chunk_seconds=chunk, retries=0, append=append, measure=True)
        live = LiveIndexer(
            lib.root, run.catalog, run.library_id, run.vectors,
            cast(VisualEncoder, _Pixels(run.parts.encoder.dim)), run.parts.segmenter, url, opts,
            say=lambda _line: None, frames=_synthetic(int(chunks * chunk * fps), fps),
        )  # fmt: skip
        rss_before = rss_kb()
        started = time.perf_counter()
        with contextlib.suppress(BadVideo):  # the synthetic stream ended: all chunks landed
            live.run()
        wall = time.perf_counter() - started
        r = live.report
        files = [p for p in lib.root.iterdir() if p.suffix in (".faiss", ".delta")]
        opened = time.perf_counter()
        check = check_library(Library.open(str(Path(tmp) / "lib")))  # loads and checks all
        check_s = time.perf_counter() - opened
    tenth, half = max(1, len(r.commit_ms) // 10), len(r.rss_kb) // 2
    early, late = list(r.commit_ms[:tenth]), list(r.commit_ms[-tenth:])
    # steady state: the second half's slope; added: since the first tenth, merges' peaks too
    rss_slope = (r.rss_kb[-1] - r.rss_kb[half]) / max(1, len(r.rss_kb) - 1 - half)
    rss_added = r.rss_kb[-1] - r.rss_kb[tenth - 1]
    rss_first, rss_last = (
        percentile(list(r.rss_kb[:tenth]), 50),
        percentile(list(r.rss_kb[-tenth:]), 50),
    )
    early_p50, late_p50 = percentile(early, 50), percentile(late, 50)
    return {
        "mode": "append" if append else "rewrite",
        "chunks": r.chunks,
        "frames": r.frames,
        "wall_s": round(wall, 1),
        "commit_ms_early_p50": round(early_p50, 2),
        "commit_ms_early_p95": round(percentile(early, 95), 2),
        "commit_ms_late_p50": round(late_p50, 2),
        "commit_ms_late_p95": round(percentile(late, 95), 2),
        "commit_ms_max": round(max(r.commit_ms), 2),
        "late_over_early": round(late_p50 / early_p50, 2) if early_p50 else None,
        "rss_start_kb": rss_before,
        "rss_kb_per_chunk": round(rss_slope, 2),
        "rss_kb_added": rss_added,
        "rss_kb_first_tenth": round(rss_first),
        "rss_kb_last_tenth": round(rss_last),
        "rss_kb_tenths": [  # median of each tenth of the chunks, in order
            round(percentile(list(r.rss_kb[i * tenth : (i + 1) * tenth]), 50)) for i in range(10)
        ],
        "vector_files": len(files),
        "check_problems": check.problems,  # vectors vs catalog rows, checksums, ids
        "check_s": round(check_s, 2),
    }
