"""Captions as text spans: a captioner plugin describes each window of a video in words.

Frames arrive in batches as the decoder samples them. Each window of ``seconds`` (the library's
segment length, so with fixed segments a caption covers exactly one segment) keeps at most
``per_window`` frames, spread over it; a finished window waits in a queue and windows are
captioned ``batch`` at a time, so memory holds a few windows of frames however long the video.
A captioner that fails on a batch is retried window by window; a window that still fails is
reported (its time range and the reason) and skipped: the rest of the video is captioned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vagent.components import Captioner
from vagent.types import TextSpan

Warn = Callable[[str], None]


@dataclass
class CaptionTrack:
    captioner: Captioner
    seconds: float
    warn: Warn
    per_window: int = 4
    batch: int = 4
    spans: list[TextSpan] = field(default_factory=list)
    failed: int = 0
    _window: int = -1
    _frames: list[tuple[float, np.ndarray]] = field(default_factory=list)
    _ready: list[tuple[float, float, np.ndarray]] = field(default_factory=list)

    def add(self, times: np.ndarray, images: np.ndarray) -> None:
        for t, img in zip(times, images):
            w = int(float(t) // self.seconds)
            if w != self._window:
                self._close()
                self._window = w
            self._frames.append((float(t), img))
        if len(self._ready) >= self.batch:
            self._caption()

    def finish(self) -> list[TextSpan]:
        self._close()
        self._caption()
        return self.spans

    def _close(self) -> None:
        if not self._frames:
            return
        pick = np.linspace(0, len(self._frames) - 1, min(self.per_window, len(self._frames)))
        chosen = [self._frames[i] for i in pick.round().astype(int)]
        start = self._window * self.seconds
        end = start + self.seconds
        self._ready.append((start, end, np.stack([img for _, img in chosen])))
        self._frames = []

    def _caption(self) -> None:
        ready, self._ready = self._ready, []
        if not ready:
            return
        try:
            texts = self.captioner.caption([clip for _, _, clip in ready])
            if len(texts) != len(ready):
                raise ValueError(f"gave {len(texts)} captions for {len(ready)} clips")
        except Exception:
            texts = [self._one(s, e, clip) for s, e, clip in ready]
        for (start, end, _), text in zip(ready, texts):
            if text and text.strip():
                self.spans.append(TextSpan(start, end, "caption", " ".join(text.split())))

    def _one(self, start: float, end: float, clip: np.ndarray) -> str:
        try:
            out = self.captioner.caption([clip])
            return out[0] if out else ""
        except Exception as exc:
            self.failed += 1
            self.warn(
                f"captioner {self.captioner.id} failed on {start:.0f}-{end:.0f} s "
                f"({type(exc).__name__}: {exc}); that window has no caption"
            )
            return ""
