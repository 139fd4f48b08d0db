"""Videos that repeat themselves, or do not: for the dedupe benchmark and its tests.

``slides``: held slides (a coloured background, a title and bullets) with a small webcam inset
that moves every frame, and sensor noise on every frame, H.264-compressed. ``meeting``: a 2x2
grid of faces that bob and talk, the active speaker's tile framed, the speaker changing now and
then. ``motion``: large coloured shapes panning fast over a changing background, so no two
sampled frames look alike. Each scene's background is one of ``vagent.synth.COLORS`` (in a
known order), so the colour test encoder's rankings are checkable.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import av
import numpy as np

from vagent.synth import COLORS, draw_text

CONTENT = ("slides", "meeting", "motion")
SCENE_COLORS = ("red", "green", "blue", "yellow", "purple", "orange", "white", "black")


def _noise(rng: np.random.Generator, img: np.ndarray, sigma: float) -> np.ndarray:
    noisy = img.astype(np.int16) + rng.normal(0, sigma, img.shape).astype(np.int16)
    return np.clip(noisy, 0, 255).astype(np.uint8)


@functools.lru_cache(maxsize=4)
def _slide(colour: str, n: int, w: int, h: int) -> np.ndarray:
    base = np.empty((h, w, 3), np.uint8)
    base[:] = COLORS[colour]
    bullets = [f"Slide {n}: {colour}", f"point {n}.1 about {colour}", f"point {n}.2 and more"]
    return draw_text(base, bullets)


def _slides(i: int, fps: int, w: int, h: int, hold: float, rng: np.random.Generator) -> np.ndarray:
    n = int(i / fps // hold)
    img = _slide(SCENE_COLORS[n % len(SCENE_COLORS)], n, w, h).copy()
    iw, ih = w // 8, h // 8  # the webcam inset: 1/64 of the frame, moving along a circle
    angle = 2 * np.pi * i / (fps * 6)
    x = int((w - iw - 8) * (0.8 + 0.15 * np.cos(angle)))
    y = int(8 + (h // 4) * (0.5 + 0.5 * np.sin(angle)))
    img[y : y + ih, x : x + iw] = rng.integers(40, 200, (ih, iw, 3), dtype=np.uint8)
    return _noise(rng, img, 3.0)


def _meeting(i: int, fps: int, w: int, h: int, hold: float, rng: np.random.Generator) -> np.ndarray:
    img = np.empty((h, w, 3), np.uint8)
    n = int(i / fps // hold)
    speaker = n % 4
    img[:] = COLORS[SCENE_COLORS[n % len(SCENE_COLORS)]]
    tw, th = w // 2, h // 2
    yy, xx = np.mgrid[0:th, 0:tw]
    for k in range(4):
        ty, tx = (k // 2) * th, (k % 2) * tw
        tile = img[ty : ty + th, tx : tx + tw]
        tile[4:-4, 4:-4] = (60 + 30 * k, 70, 90)
        bob = 2.0 * np.sin(2 * np.pi * (i / fps) * 0.7 + k)
        cy, cx = th * 0.45 + bob, tw * 0.5
        face = ((yy - cy) / (th * 0.28)) ** 2 + ((xx - cx) / (tw * 0.16)) ** 2 < 1
        tile[face] = (225, 190, 160)
        mouth_open = k == speaker and (i // 3) % 2 == 0
        my = int(cy + th * 0.14)
        tile[my : my + (3 if mouth_open else 1), int(cx) - 5 : int(cx) + 5] = (90, 30, 30)
        if k == speaker:  # the active speaker's frame
            tile[:4] = tile[-4:] = (250, 250, 0)
            tile[:, :4] = tile[:, -4:] = (250, 250, 0)
    return _noise(rng, img, 3.0)


class _Motion:
    def __init__(self, w: int, h: int, rng: np.random.Generator) -> None:
        from PIL import Image

        grid = rng.integers(0, 255, (9, 16, 3), dtype=np.uint8)
        big = Image.fromarray(grid).resize((w * 3, h * 3), Image.Resampling.BILINEAR)
        self.field = np.asarray(big).astype(np.int16) - 128
        self.w, self.h = w, h

    def frame(self, i: int, fps: int, hold: float, rng: np.random.Generator) -> np.ndarray:
        n = int(i / fps // hold)
        base = np.array(COLORS[SCENE_COLORS[n % len(SCENE_COLORS)]], np.int16)
        t = i / fps
        dx = int((t * 97) % (2 * self.w))  # ~100 px a second one way, ~60 the other
        dy = int((t * 61) % (2 * self.h))
        patch = self.field[dy : dy + self.h, dx : dx + self.w]
        img = np.clip(base + patch // 2, 0, 255).astype(np.uint8)
        return _noise(rng, img, 3.0)


def content_video(
    path: str | Path,
    kind: str,
    seconds: float,
    size: tuple[int, int] = (480, 270),
    fps: int = 25,
    hold: float = 20.0,
    seed: int = 0,
) -> Path:
    """Write an H.264 MP4 of ``kind`` (one of ``CONTENT``) lasting ``seconds``; a scene (a
    slide, a speaker, a background colour) changes every ``hold`` seconds."""
    if kind not in CONTENT:
        raise ValueError(f"unknown content {kind!r}; use one of {', '.join(CONTENT)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    rng = np.random.default_rng(seed)
    motion = _Motion(w, h, rng) if kind == "motion" else None
    with av.open(str(path), "w") as out:
        vs: Any = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.gop_size = 2 * fps
        vs.options = {"preset": "ultrafast", "crf": "28"}
        for i in range(round(seconds * fps)):
            if motion is not None:
                img = motion.frame(i, fps, hold, rng)
            elif kind == "slides":
                img = _slides(i, fps, w, h, hold, rng)
            else:
                img = _meeting(i, fps, w, h, hold, rng)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
    return path
