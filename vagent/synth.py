"""Make real video files with PyAV: for tests, demos and benchmarks (no downloads needed).

``make_video(path, colors=[...], seconds_per_color=...)`` writes solid-colour scenes (their order
is known, so search results are checkable); ``texture=True`` adds moving noise so the encoder
has real work and the bitrate is that of natural footage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 200, 60),
    "blue": (30, 60, 220),
    "yellow": (230, 220, 40),
    "white": (240, 240, 240),
    "black": (10, 10, 10),
    "purple": (140, 40, 180),
    "orange": (240, 140, 20),
}


def make_video(
    path: str | Path,
    colors: Sequence[str] = ("red", "green", "blue"),
    seconds_per_color: float = 10.0,
    fps: int = 25,
    size: tuple[int, int] = (320, 240),
    keyframe_seconds: float = 2.0,
    codec: str = "libx264",
    texture: bool = False,
    audio: bool = False,
    seed: int = 0,
    overlays: Sequence[tuple[float, float, str]] = (),
) -> Path:
    """Write an H.264 MP4 (or ``codec``) showing each colour for ``seconds_per_color``.

    ``overlays``: (start, end, text) drawn on screen, in black on a white band, between those
    times (seconds): on-screen text for OCR tests.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 60, size=(h * 2, w * 2, 3), dtype=np.uint8) if texture else None
    with av.open(str(path), "w") as out:
        vs: Any = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        gop = max(1, round(keyframe_seconds * fps))
        vs.codec_context.gop_size = gop
        if codec == "libx264":
            vs.options = {"preset": "ultrafast", "keyint_min": str(gop), "sc_threshold": "0"}
        astream: Any = out.add_stream("aac", rate=16000) if audio else None
        n = round(seconds_per_color * fps)
        i = 0
        for name in colors:
            base = np.empty((h, w, 3), np.uint8)
            base[:] = COLORS[name]
            for _ in range(n):
                img = base
                if noise is not None:
                    dy, dx = (i * 3) % h, (i * 5) % w
                    img = np.clip(
                        base.astype(np.int16) + noise[dy : dy + h, dx : dx + w] - 30, 0, 255
                    )
                    img = img.astype(np.uint8)
                shown = [text for a, b, text in overlays if a <= i / fps < b]
                if shown:
                    img = draw_text(img, shown)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                for pkt in vs.encode(frame):
                    out.mux(pkt)
                i += 1
        for pkt in vs.encode():
            out.mux(pkt)
        if astream is not None:
            _write_tone(out, astream, i / fps)
    return path


def _write_tone(out: Any, stream: Any, seconds: float) -> None:
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    for start in range(0, len(samples), 1024):
        chunk = samples[start : start + 1024].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        for pkt in stream.encode(frame):
            out.mux(pkt)
    for pkt in stream.encode():
        out.mux(pkt)


def write_pcm(out: Any, stream: Any, audio: np.ndarray, rate: int = 16000) -> None:
    """Encode mono float samples in [-1, 1] as 16-bit PCM into ``stream`` of ``out``, flushed."""
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    for start in range(0, pcm.size, 4096):
        chunk = pcm[start : start + 4096].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for pkt in stream.encode(frame):
            out.mux(pkt)
    for pkt in stream.encode():
        out.mux(pkt)


def make_audio_only(path: str | Path, seconds: float = 3.0) -> Path:
    path = Path(path)
    with av.open(str(path), "w") as out:
        stream: Any = out.add_stream("aac", rate=16000)
        _write_tone(out, stream, seconds)
    return path


def draw_text(image: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Draw ``lines`` in black on white bands across the lower middle of ``image`` (a copy)."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = image.shape[:2]
    size = max(10, h // 14)
    font = ImageFont.load_default(size=size)
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    y = h // 2
    for line in lines:
        box = draw.textbbox((0, 0), line, font=font)
        tw = box[2] - box[0]
        x = max(4, (w - tw) // 2)
        draw.rectangle((x - 6, y - 4, x + tw + 6, y + size + 8), fill=(255, 255, 255))
        draw.text((x, y), line, fill=(0, 0, 0), font=font)
        y += size + 14
    return np.asarray(pil)
