"""PyAV decoder: probe headers, and sample frames at a fixed rate without decoding what no sample
needs.

Strategy ``gop`` (default): packets are read one keyframe group at a time (demuxing costs little);
the sampling rule is run on the group's timestamps to find the wanted frames, and the decoder gets
only the packets up to the last wanted one in decode order; the rest of the group is dropped
undecoded. With keyframes at least as dense as the sampling rate this decodes keyframes only; with
sparse keyframes it degenerates gracefully to sequential decoding. No seeking: seeking per sample
re-decodes from the previous keyframe every time. Frames are converted and resized once, by
FFmpeg's swscale (``to_ndarray`` with width/height), never through PIL.
"""

from __future__ import annotations

import itertools
import math
import stat
import statistics
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from vagent.components import Decoder
from vagent.errors import BadVideo
from vagent.types import FrameBatch, VideoInfo
from vagent_pyav.sampling import SampleClock

PROBE_PACKETS = 600


def _open(path: str) -> Any:
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        raise BadVideo(path, "no such file") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadVideo(path, "is a directory")
    if not stat.S_ISREG(st.st_mode):
        # FFmpeg would block on a FIFO (or read a device forever)
        raise BadVideo(path, "not a regular file (a FIFO, device or socket); not read")
    if st.st_size == 0:
        raise BadVideo(path, "empty file (0 bytes)")
    try:
        return av.open(path)
    except PermissionError:
        raise BadVideo(path, "permission denied: cannot read the file") from None
    except av.error.PermissionError:
        raise BadVideo(path, "permission denied: cannot read the file") from None
    except av.error.FFmpegError as exc:
        raise BadVideo(path, f"not a readable video ({_ffmsg(exc)})") from None


def _ffmsg(exc: BaseException) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return str(msg).split(": '")[0]


def _video_stream(container: Any, path: str) -> Any:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise BadVideo(path, f"no video stream (streams: {', '.join(kinds)})")
    return container.streams.video[0]


class PyAVDecoder(Decoder):
    """Decoder id ``pyav`` or ``pyav/<strategy>`` (``gop`` | ``sequential``)."""

    def __init__(self, spec: str | None = None, threads: str = "AUTO") -> None:
        self.strategy = spec or "gop"
        if self.strategy not in ("gop", "sequential"):
            raise ValueError(f"pyav: unknown strategy '{spec}' (use gop or sequential)")
        self.id = f"pyav/{self.strategy}"
        self.threads = threads
        self.packets_total = 0
        self.packets_decoded = 0
        av.logging.set_level(av.logging.PANIC)  # FFmpeg's own chatter; our errors say what failed

    def probe(self, path: str) -> VideoInfo:
        container = _open(path)
        with container:
            vs = _video_stream(container, path)
            cc = vs.codec_context
            fmt = container.format.name
            if fmt == "image2" or fmt.endswith("_pipe"):
                raise BadVideo(path, f"a still image ({cc.name}), not a video")
            if not cc.width or not cc.height:
                raise BadVideo(path, "video stream has no frame size (corrupt header)")
            tb = vs.time_base or Fraction(1, 1)
            if vs.duration:
                duration = float(vs.duration * tb)
            elif container.duration:
                duration = container.duration / 1_000_000
            else:
                duration = 0.0
            rate = vs.average_rate or vs.guessed_rate or vs.base_rate
            keys: list[float] = []
            try:
                for i, pkt in enumerate(container.demux(vs)):
                    if i >= PROBE_PACKETS:
                        break
                    if pkt.is_keyframe and pkt.pts is not None:
                        keys.append(float(pkt.pts * tb))
            except av.error.FFmpegError:
                pass
            gaps = [b - a for a, b in itertools.pairwise(keys) if b > a]
            return VideoInfo(
                path=path,
                duration=duration,
                fps=float(rate) if rate else 0.0,
                width=int(cc.width),
                height=int(cc.height),
                codec=cc.name,
                frame_count=int(vs.frames) or None,
                keyframe_interval=statistics.median(gaps) if gaps else None,
            )

    def sample(
        self, path: str, fps: float, size: tuple[int, int] | None, batch_size: int = 32
    ) -> Iterator[FrameBatch]:
        container = _open(path)
        try:
            vs = _video_stream(container, path)
            vs.thread_type = self.threads
            tb = vs.time_base or Fraction(1, 1)
            start = vs.start_time or 0
            src_fps = float(vs.average_rate or vs.guessed_rate or 30)
            eps = 0.5 / max(src_fps, 1.0)
            end = float(vs.duration * tb) if vs.duration else math.inf
            frames = (
                self._gop_frames(container, vs, tb, start, SampleClock(fps, eps, end))
                if self.strategy == "gop"
                else self._sequential_frames(container, vs)
            )
            picker = SampleClock(fps, eps, end)
            times: list[float] = []
            images: list[np.ndarray] = []
            kw: dict[str, Any] = {"format": "rgb24"}
            if size:
                kw["width"], kw["height"] = size
            t = 0.0
            try:
                for frame in frames:
                    if frame.pts is None:
                        continue
                    t = float((frame.pts - start) * tb)
                    if not picker.wants(t, bool(frame.key_frame)):
                        continue
                    times.append(t)
                    images.append(frame.to_ndarray(**kw))
                    if len(times) >= batch_size:
                        yield _batch(times, images)
                        times, images = [], []
            except av.error.FFmpegError as exc:
                raise BadVideo(path, f"decode error near {t:.1f}s ({_ffmsg(exc)})") from None
            if times:
                yield _batch(times, images)
        finally:
            container.close()

    def _sequential_frames(self, container: Any, vs: Any) -> Iterator[Any]:
        for packet in container.demux(vs):
            self.packets_total += packet.size > 0
            self.packets_decoded += packet.size > 0
            yield from packet.decode()

    def _gop_frames(
        self, container: Any, vs: Any, tb: Fraction, start: int, planner: SampleClock
    ) -> Iterator[Any]:
        codec = vs.codec_context
        group: list[Any] = []
        for packet in container.demux(vs):
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            if packet.is_keyframe and group:
                yield from self._decode_group(codec, group, planner, tb, start)
                group = []
            group.append(packet)
        if group:
            yield from self._decode_group(codec, group, planner, tb, start)
        yield from codec.decode(None)

    def _decode_group(
        self, codec: Any, group: list[Any], planner: SampleClock, tb: Fraction, start: int
    ) -> Iterator[Any]:
        self.packets_total += len(group)
        if any(p.pts is None for p in group):
            last = len(group) - 1  # no timestamps to plan with: decode the whole group
        else:
            order = sorted(range(len(group)), key=lambda i: group[i].pts)
            wanted = [
                i
                for i in order
                if planner.wants(float((group[i].pts - start) * tb), bool(group[i].is_keyframe))
            ]
            last = max(wanted) if wanted else -1
        for packet in group[: last + 1]:
            self.packets_decoded += 1
            yield from codec.decode(packet)


def _batch(times: list[float], images: list[np.ndarray]) -> FrameBatch:
    return FrameBatch(np.asarray(times, dtype=np.float64), np.stack(images))
