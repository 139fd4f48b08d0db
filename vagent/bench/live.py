"""A live stream served on 127.0.0.1, and the delay from a frame being sent to being searchable.

``python -m vagent.bench.live PORT SECONDS [COLOURS...]`` sends UDP MPEG-TS (MPEG-2 video) to
``udp://127.0.0.1:PORT`` in real time: each colour of ``vagent.synth.COLORS`` held for
``HOLD`` seconds, in turn, for SECONDS seconds; it prints ``start <wall time>`` once the first
frame is sent. ``measure`` indexes such a stream live in this process and reports, for every
sampled frame, the time from it being sent to its chunk having landed (p50, p95).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
