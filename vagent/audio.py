"""Reading a file's audio with PyAV: its headers, and its samples as 16 kHz mono float32 in
chunks, resampled once by FFmpeg (swresample), so memory stays flat however long the file is.

The default audio stream is read (FFmpeg's "best" one, else the first). A stream that breaks
part-way stops the read with ``AudioBroken`` saying where; the samples before it have been
yielded already, so the readable part is kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from vagent.errors import BadVideo
from vagent.ingest.discover import open_regular

RATE = 16000
FRAME_SECONDS = 1.0  # samples per resampler output frame, in seconds


class AudioBroken(Exception):
    """Decoding stopped part-way: ``at`` seconds were read; ``reason`` says why."""

    def __init__(self, at: float, reason: str) -> None:
        super().__init__(f"audio unreadable after {at:.1f}s ({reason})")
        self.at, self.reason = at, reason


@dataclass(frozen=True)
class AudioInfo:
    """A file's audio as its headers declare it; ``has_video``: the file also has pictures."""

    path: str
    duration: float
    sample_rate: int
    channels: int
    codec: str
    has_video: bool
    stream: int


class NoSuchStream(BadVideo):
    """``--audio-stream N`` names a stream the file does not have."""


def _stream(container: Any, number: int | None = None) -> Any | None:
    streams = container.streams.audio
    if number is not None:
        if number >= len(streams):
            has = f"streams 0-{len(streams) - 1}" if len(streams) > 1 else f"{len(streams)}"
            raise NoSuchStream(
                container.name, f"no audio stream {number} (--audio-stream; it has {has})"
            )
        return streams[number]
    if not streams:
        return None
    try:
        best = container.streams.best("audio")
    except Exception:
        best = None
    return best if best is not None else streams[0]


def _open(path: str) -> Any:
    import os

    os.close(open_regular(path))  # refuse FIFOs and devices before FFmpeg opens anything
    try:
        return av.open(path)
    except av.error.FFmpegError as exc:
        msg = str(getattr(exc, "strerror", None) or exc).split(": '")[0]
        raise BadVideo(path, f"not a readable audio or video file ({msg})") from None


def probe_audio(path: str, stream: int | None = None) -> AudioInfo | None:
    """The file's default audio stream (or its ``stream``-th), or None when it has none. Raises
    BadVideo when the file cannot be opened at all, NoSuchStream when it lacks ``stream``."""
    with _open(path) as c:
        s = _stream(c, stream)
        if s is None:
            return None
        cc = s.codec_context
        tb = s.time_base or Fraction(1, 1)
        if s.duration:
            duration = float(s.duration * tb)
        elif c.duration:
            duration = c.duration / 1_000_000
        else:
            duration = 0.0
        return AudioInfo(
            path=path,
            duration=max(0.0, duration),
            sample_rate=int(cc.sample_rate or 0),
            channels=int(cc.channels or 0),
            codec=cc.name,
            has_video=bool(c.streams.video),
            stream=int(s.index),
        )


def chunks(
    path: str, seconds: float = 30.0, rate: int = RATE, stream: int | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    """``(start, samples)`` pieces of about ``seconds`` each: mono float32 at ``rate``, starting
    at ``start`` seconds of the file, back to back. Raises ``AudioBroken`` where decoding fails
    (the pieces before it have been yielded)."""
    want = max(1, int(seconds * rate))
    with _open(path) as c:
        s = _stream(c, stream)
        if s is None:
            raise BadVideo(path, "no audio stream")
        s.thread_type = "AUTO"
        # whole pieces of FRAME_SECONDS out of the resampler: a few calls a second, not one per
        # packet (a WAV's 1024-sample packets cost more in calls than in resampling)
        res = av.AudioResampler(
            format="flt", layout="mono", rate=rate, frame_size=max(1, int(FRAME_SECONDS * rate))
        )
        tb = s.time_base or Fraction(1, 1)
        origin: float | None = None
        buf: list[np.ndarray] = []
        held = 0
        done = 0  # samples yielded so far

        def drain(final: bool) -> Iterator[tuple[float, np.ndarray]]:
            nonlocal buf, held, done
            while held >= want or (final and held):
                data = np.concatenate(buf) if len(buf) > 1 else buf[0]
                piece, rest = data[:want], data[want:]
                buf, held = ([rest] if rest.size else []), int(rest.size)
                yield (origin or 0.0) + done / rate, piece
                done += piece.size

        def take(frames: list[Any]) -> None:
            nonlocal held
            for out in frames:
                arr = out.to_ndarray().reshape(-1)
                buf.append(arr.astype(np.float32, copy=False))
                held += arr.size

        def flush() -> None:
            take(res.resample(None))

        try:
            for packet in c.demux(s):
                for frame in packet.decode():
                    if origin is None:
                        origin = max(0.0, float(frame.pts * tb)) if frame.pts is not None else 0.0
                    take(res.resample(frame))
                yield from drain(False)
            flush()
        except av.error.FFmpegError as exc:
            with contextlib.suppress(av.error.FFmpegError):
                flush()  # what the resampler holds was read before the break: keep it
            yield from drain(True)
            reason = str(getattr(exc, "strerror", None) or exc).split(": '")[0]
            raise AudioBroken((origin or 0.0) + done / rate, reason) from None
        yield from drain(True)
