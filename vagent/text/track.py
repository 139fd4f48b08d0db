"""Building a video's text spans: on-screen text from OCR on sampled frames, and subtitles.

OCR runs on every sampled frame unless the frame looks the same as the last one read (a static
slide, a paused scene): then the previous lines are reused. Each recognised line is tracked
across consecutive frames and becomes one span from its first to its last appearance; lines with
fewer than 3 letters or digits are dropped (false positives on textures).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from vagent.components import OCR
from vagent.types import TextSpan

MIN_ALNUM = 3
SAME_FRAME_LEVELS = 2.0  # mean absolute difference (0-255) of 32x32 thumbnails


def _thumb(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    ys = np.linspace(0, h - 1, 32).astype(int)
    xs = np.linspace(0, w - 1, 32).astype(int)
    return image[ys][:, xs].astype(np.float32).mean(axis=2)


def _key(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip().lower()


def keep_line(line: str) -> bool:
    return sum(ch.isalnum() for ch in line) >= MIN_ALNUM


@dataclass
class OcrTrack:
    """Feeds frames to an OCR plugin and folds the lines into spans. ``period``: seconds between
    samples (a line seen only at t spans [t, t + period))."""

    ocr: OCR
    period: float
    frames_read: int = 0
    frames_reused: int = 0
    _last_thumb: np.ndarray | None = None
    _last_lines: list[str] = field(default_factory=list)
    _open: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    spans: list[TextSpan] = field(default_factory=list)

    def add(self, times: np.ndarray, images: np.ndarray) -> None:
        todo: list[int] = []
        thumbs = [_thumb(img) for img in images]
        lines: list[list[str] | None] = [None] * len(images)
        last = self._last_thumb
        for i, th in enumerate(thumbs):
            if last is not None and float(np.abs(th - last).mean()) < SAME_FRAME_LEVELS:
                continue  # same picture as the previous frame: reuse its lines below
            todo.append(i)
            last = th
        read = self.ocr.read(images[todo]) if todo else []
        for i, found in zip(todo, read):
            lines[i] = [ln.strip() for ln in found if keep_line(ln)]
        self.frames_read += len(todo)
        self.frames_reused += len(images) - len(todo)
        for t, maybe in zip(times, lines):
            current = maybe if maybe is not None else self._last_lines
            self._step(float(t), current)
            self._last_lines = current
        self._last_thumb = last

    def _step(self, t: float, lines: list[str]) -> None:
        seen: dict[str, str] = {}
        for line in lines:
            seen.setdefault(_key(line), line)
        for key in list(self._open):
            if key not in seen:
                start, end, text = self._open.pop(key)
                self.spans.append(TextSpan(start, end, "ocr", text))
        for key, text in seen.items():
            start, _, _ = self._open.get(key, (t, t, text))
            self._open[key] = (start, t + self.period, text)

    def finish(self) -> list[TextSpan]:
        for start, end, text in self._open.values():
            self.spans.append(TextSpan(start, end, "ocr", text))
        self._open.clear()
        return sorted(self.spans, key=lambda s: (s.start, s.text))
